// Package plugin serves an external SPIRE plugin as SPIRE's catalog expects one: hashicorp go-plugin's gRPC
// protocol, the handshake cookie named after the plugin type (both key and value, protocol version 1), the
// private Init service SPIRE calls first (it learns the plugin's gRPC service names from it) and the Config
// service it calls with the trust domain and the plugin's HCL `plugin_data`.
package plugin

import (
	"context"
	"errors"
	"os"
	"sync"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	configv1 "meridian.dev/spireproto/configv1"
	initv1 "meridian.dev/spireproto/initv1"
)

// ConfigService is the gRPC name SPIRE binds its configurer to.
const ConfigService = "spire.service.common.config.v1.Config"

// Handshake is the go-plugin handshake for a plugin of the given type ("NodeAttestor", "KeyManager", …).
func Handshake(pluginType string) goplugin.HandshakeConfig {
	return goplugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: pluginType, MagicCookieValue: pluginType}
}

// Service is one gRPC service the plugin implements.
type Service struct {
	Name     string
	Register func(*grpc.Server)
}

// Configurer parses and applies plugin_data; Check only validates it.
type Configurer interface {
	Configure(trustDomain, hcl string) error
	Check(trustDomain, hcl string) error
}

// Serve serves the plugin on stdout's handshake until SPIRE kills it.
func Serve(pluginType string, services []Service, c Configurer) {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake(pluginType),
		Plugins:         map[string]goplugin.Plugin{pluginType: &grpcPlugin{services: services, configurer: c}},
		GRPCServer:      goplugin.DefaultGRPCServer,
		Logger:          hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Info}),
	})
}

type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	services   []Service
	configurer Configurer
}

func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	names := make([]string, 0, len(p.services)+1)
	for _, svc := range p.services {
		svc.Register(s)
		names = append(names, svc.Name)
	}
	configv1.RegisterConfigServer(s, &configServer{c: p.configurer})
	initv1.RegisterInitServer(s, &initServer{names: append(names, ConfigService)})
	return nil
}

func (p *grpcPlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (interface{}, error) {
	return nil, errors.New("a plugin binary has no client side")
}

// initServer answers SPIRE's Init with the services implemented. These plugins use no host services, so they
// never dial SPIRE's broker.
type initServer struct {
	initv1.UnimplementedInitServer
	names []string
}

func (s *initServer) Init(context.Context, *initv1.InitRequest) (*initv1.InitResponse, error) {
	return &initv1.InitResponse{PluginServiceNames: s.names}, nil
}

func (s *initServer) Deinit(context.Context, *initv1.DeinitRequest) (*initv1.DeinitResponse, error) {
	return &initv1.DeinitResponse{}, nil
}

type configServer struct {
	configv1.UnimplementedConfigServer
	mu sync.Mutex
	c  Configurer
}

func (s *configServer) Configure(_ context.Context, req *configv1.ConfigureRequest) (*configv1.ConfigureResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.c.Configure(req.GetCoreConfiguration().GetTrustDomain(), req.GetHclConfiguration()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &configv1.ConfigureResponse{}, nil
}

func (s *configServer) Validate(_ context.Context, req *configv1.ValidateRequest) (*configv1.ValidateResponse, error) {
	if err := s.c.Check(req.GetCoreConfiguration().GetTrustDomain(), req.GetHclConfiguration()); err != nil {
		return &configv1.ValidateResponse{Valid: false, Notes: []string{err.Error()}}, nil
	}
	return &configv1.ValidateResponse{Valid: true, Notes: []string{"configuration valid"}}, nil
}

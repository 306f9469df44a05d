// Package catalog loads an external plugin binary the way SPIRE's catalog (pkg/common/catalog) does, so a test
// exercises the same contract a SPIRE server or agent would: go-plugin client over gRPC only, the handshake
// cookie named after the plugin type, the binary's SHA-256 checked (plugin_checksum), a broker listener on
// service ID 1 for host services, Init (the plugin must list the expected service), then Configure with the
// trust domain and the HCL plugin_data. Deinit and kill on Close.
package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"meridian.dev/spireplugin/plugin"
	configv1 "meridian.dev/spireproto/configv1"
	initv1 "meridian.dev/spireproto/initv1"
)

// hostServiceProviderID is the broker ID SPIRE serves host services on (the SDK's private.HostServiceProviderID).
const hostServiceProviderID = 1

// Plugin is a loaded, initialised and configured plugin.
type Plugin struct {
	Conn     *grpc.ClientConn
	Services []string
	client   *goplugin.Client
	host     *grpc.Server
}

// Load starts the binary at path as plugin name of pluginType, expecting it to implement service. checksum is
// plugin_checksum: the hex SHA-256 the binary must have (go-plugin refuses to start it otherwise); empty, as in
// SPIRE, skips the check.
func Load(ctx context.Context, path, checksum, name, pluginType, service, trustDomain, hcl string, logOut io.Writer) (p *Plugin, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	var secure *goplugin.SecureConfig
	if checksum != "" {
		sum, err := hex.DecodeString(checksum)
		if err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("plugin_checksum: %q is not a hex SHA-256", checksum)
		}
		secure = &goplugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}
	cmd := exec.Command(abs)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	hc := &hostPlugin{}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  plugin.Handshake(pluginType),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Plugins:          map[string]goplugin.Plugin{name: hc},
		Logger:           hclog.New(&hclog.LoggerOptions{Name: name, Output: logOut, Level: hclog.Debug}),
		SecureConfig:     secure,
	})
	defer func() {
		if err != nil {
			client.Kill()
		}
	}()
	proto, err := client.Client()
	if err != nil {
		return nil, fmt.Errorf("failed to launch plugin: %w", err)
	}
	if _, err := proto.Dispense(name); err != nil {
		return nil, err
	}
	p = &Plugin{Conn: hc.conn, client: client, host: hc.host}
	init, err := initv1.NewInitClient(p.Conn).Init(ctx, &initv1.InitRequest{HostServiceNames: nil})
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	p.Services = init.PluginServiceNames
	if !contains(p.Services, service) {
		return nil, fmt.Errorf("plugin does not support facade service %q (has %q)", service, p.Services)
	}
	if !contains(p.Services, plugin.ConfigService) {
		return nil, fmt.Errorf("plugin has no %s", plugin.ConfigService)
	}
	core := &configv1.CoreConfiguration{TrustDomain: trustDomain}
	if _, err := configv1.NewConfigClient(p.Conn).Configure(ctx, &configv1.ConfigureRequest{CoreConfiguration: core, HclConfiguration: hcl}); err != nil {
		return nil, fmt.Errorf("configure: %w", err)
	}
	return p, nil
}

// Close deinitialises and kills the plugin.
func (p *Plugin) Close() {
	_, _ = initv1.NewInitClient(p.Conn).Deinit(context.Background(), &initv1.DeinitRequest{})
	p.host.Stop()
	p.client.Kill()
}

type hostPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	conn *grpc.ClientConn
	host *grpc.Server
}

func (h *hostPlugin) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error {
	return fmt.Errorf("not implemented host side")
}

// GRPCClient serves the (empty) host services on the broker as SPIRE does, and keeps the plugin's connection.
func (h *hostPlugin) GRPCClient(_ context.Context, b *goplugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	l, err := b.Accept(hostServiceProviderID)
	if err != nil {
		return nil, err
	}
	h.host = grpc.NewServer()
	go func() { _ = h.host.Serve(l) }()
	h.conn = c
	return h, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

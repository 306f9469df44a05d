package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"meridian.dev/spireplugin/plugin"
	nav1 "meridian.dev/spireproto/servernodeattestorv1"
)

// pluginName is SPIRE's selector type and the agent ID's path segment; the verifier's answer must use it.
const pluginName = "meridian_attest"

// nodeID is the verifier's node ID syntax (runtime/attest/service.ts).
var nodeID = regexp.MustCompile(`^[A-Za-z0-9._:/-]{1,200}$`)

type settings struct {
	trustDomain string
	verifier    *verifier
}

type attestor struct {
	nav1.UnimplementedNodeAttestorServer
	mu  sync.RWMutex
	cur *settings
}

type hclConfig struct {
	VerifierURL      string `hcl:"verifier_url"`
	CABundlePath     string `hcl:"ca_bundle_path"`
	ClientCertPath   string `hcl:"client_cert_path"`
	ClientKeyPath    string `hcl:"client_key_path"`
	VerifierSpiffeID string `hcl:"verifier_spiffe_id"`
	TimeoutSeconds   int    `hcl:"timeout_seconds"`
}

func (a *attestor) parse(td, text string) (*settings, error) {
	var c hclConfig
	if err := plugin.DecodeHCL(td, text, &c, "verifier_url", "ca_bundle_path", "client_cert_path", "client_key_path", "verifier_spiffe_id", "timeout_seconds"); err != nil {
		return nil, err
	}
	v, err := newVerifier(c.VerifierURL, tlsSettings{caBundle: c.CABundlePath, clientCert: c.ClientCertPath, clientKey: c.ClientKeyPath, verifierID: c.VerifierSpiffeID}, c.TimeoutSeconds)
	if err != nil {
		return nil, err
	}
	return &settings{trustDomain: td, verifier: v}, nil
}

func (a *attestor) Check(td, text string) error {
	_, err := a.parse(td, text)
	return err
}

func (a *attestor) Configure(td, text string) error {
	s, err := a.parse(td, text)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.cur = s
	a.mu.Unlock()
	return nil
}

// payload is the agent's first message: the node it claims to be (the quote must then be by that node's AK).
type payload struct {
	Node string `json:"node"`
}

// evidence is the agent's challenge response: the three files tpm2_quote -m/-s/-o writes.
type evidence struct {
	Message   []byte `json:"message"`
	Signature []byte `json:"signature"`
	Pcrs      []byte `json:"pcrs"`
}

func strictJSON(b []byte, out interface{}) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(out); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

func (a *attestor) Attest(stream nav1.NodeAttestor_AttestServer) error {
	a.mu.RLock()
	s := a.cur
	a.mu.RUnlock()
	if s == nil {
		return status.Error(codes.FailedPrecondition, "meridian_attest: not configured")
	}
	ctx := stream.Context()
	req, err := stream.Recv()
	if err != nil {
		return err
	}
	var claim payload
	if err := strictJSON(req.GetPayload(), &claim); err != nil || !nodeID.MatchString(claim.Node) {
		return status.Errorf(codes.InvalidArgument, "meridian_attest: payload must be {\"node\": ID} with a verifier node ID (%v)", err)
	}
	nonce, err := s.verifier.nonce(ctx)
	if err != nil {
		// A verifier refusing this server (401/403: no or the wrong client identity) admits nobody either.
		return asStatus(err)
	}
	if err := stream.Send(&nav1.AttestResponse{Response: &nav1.AttestResponse_Challenge{Challenge: []byte(nonce)}}); err != nil {
		return err
	}
	req, err = stream.Recv()
	if err != nil {
		return err
	}
	var ev evidence
	if err := strictJSON(req.GetChallengeResponse(), &ev); err != nil || len(ev.Message) == 0 || len(ev.Signature) == 0 || len(ev.Pcrs) == 0 {
		return status.Errorf(codes.InvalidArgument, "meridian_attest: challenge response must be {message, signature, pcrs} (base64 tpm2_quote files) (%v)", err)
	}
	ak, err := s.verifier.verify(ctx, claim.Node, nonce, ev)
	if err != nil {
		return asStatus(err)
	}
	attrs, err := s.verifier.agentAttributes(ctx, claim.Node)
	if err != nil {
		return asStatus(err)
	}
	// The verifier must answer for this trust domain, this plugin and this node, with the AK just accepted.
	want := fmt.Sprintf("spiffe://%s/spire/agent/%s/", s.trustDomain, pluginName)
	if !strings.HasPrefix(attrs.SpiffeID, want) {
		return status.Errorf(codes.FailedPrecondition, "meridian_attest: verifier answered agent ID %q, not under %s (is its spire.trustDomain %s?)", attrs.SpiffeID, want, s.trustDomain)
	}
	if !contains(attrs.SelectorValues, "node:"+claim.Node) || !contains(attrs.SelectorValues, "ak:"+ak) {
		return status.Errorf(codes.PermissionDenied, "meridian_attest: node %s: the verifier's latest result is not the quote just accepted", claim.Node)
	}
	return stream.Send(&nav1.AttestResponse{Response: &nav1.AttestResponse_AgentAttributes{AgentAttributes: &nav1.AgentAttributes{
		SpiffeId:       attrs.SpiffeID,
		SelectorValues: attrs.SelectorValues,
		CanReattest:    attrs.CanReattest,
	}}})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

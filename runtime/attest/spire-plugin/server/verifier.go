package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// verifier is the HTTP client of `meridian attest serve` (runtime/attest/service.ts).
type verifier struct {
	base   *url.URL
	client *http.Client
}

// refusal is the verifier's refusal of this node: the agent gets no SVID.
type refusal struct{ reason string }

func (r refusal) Error() string { return r.reason }

func asStatus(err error) error {
	var r refusal
	if errors.As(err, &r) {
		return status.Errorf(codes.PermissionDenied, "meridian_attest: %s", r.reason)
	}
	return status.Errorf(codes.Unavailable, "meridian_attest: verifier: %v", err)
}

// tlsSettings is the client side of the verifier's mTLS: the bundle its certificate must chain to, the SPIFFE ID
// it must carry (when set, instead of the URL's host name: mesh certificates name workloads, not hosts), and this
// server's own certificate, which the verifier's authorization admits.
type tlsSettings struct {
	caBundle, clientCert, clientKey, verifierID string
}

func newVerifier(raw string, t tlsSettings, timeoutSeconds int) (*verifier, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("verifier_url: got %q; expected the verifier's http(s) base URL", raw)
	}
	if timeoutSeconds < 0 || timeoutSeconds > 300 {
		return nil, fmt.Errorf("timeout_seconds: got %d; expected 0 (default 10) to 300", timeoutSeconds)
	}
	if timeoutSeconds == 0 {
		timeoutSeconds = 10
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// Only the verifier is ever dialled: no proxy from the environment may sit between it and this plugin.
	transport.Proxy = nil
	if u.Scheme == "http" {
		if t != (tlsSettings{}) {
			return nil, fmt.Errorf("verifier_url: %q is plain http, but ca_bundle_path, client_cert_path, client_key_path or verifier_spiffe_id is set: use https", raw)
		}
	} else {
		cfg, err := clientTLS(t)
		if err != nil {
			return nil, err
		}
		transport.TLSClientConfig = cfg
	}
	return &verifier{base: u, client: &http.Client{Transport: transport, Timeout: time.Duration(timeoutSeconds) * time.Second}}, nil
}

func clientTLS(t tlsSettings) (*tls.Config, error) {
	if t.caBundle == "" {
		return nil, fmt.Errorf("ca_bundle_path: required with an https verifier_url (the trust bundle the verifier's certificate chains to)")
	}
	pem, err := os.ReadFile(t.caBundle)
	if err != nil {
		return nil, fmt.Errorf("ca_bundle_path: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_bundle_path: %s holds no PEM certificate", t.caBundle)
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if (t.clientCert == "") != (t.clientKey == "") {
		return nil, fmt.Errorf("client_cert_path and client_key_path: set both or neither")
	}
	if t.clientCert != "" {
		// Checked now so a wrong path fails Configure, then read at every handshake: cert-manager renews the
		// mounted Secret in place, and a renewed certificate must be used without restarting SPIRE's server.
		if _, err := tls.LoadX509KeyPair(t.clientCert, t.clientKey); err != nil {
			return nil, fmt.Errorf("client_cert_path/client_key_path: %v", err)
		}
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c, err := tls.LoadX509KeyPair(t.clientCert, t.clientKey)
			if err != nil {
				return nil, fmt.Errorf("client certificate: %v", err)
			}
			return &c, nil
		}
	}
	if t.verifierID != "" {
		id, err := url.Parse(t.verifierID)
		if err != nil || id.Scheme != "spiffe" || id.Host == "" || id.String() != t.verifierID {
			return nil, fmt.Errorf("verifier_spiffe_id: got %q; expected spiffe://<trust domain>/<path>", t.verifierID)
		}
		// The chain is verified here, against the bundle, with the SPIFFE ID in place of the host name.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error { return verifySpiffePeer(cs, pool, t.verifierID) }
	}
	return cfg, nil
}

// verifySpiffePeer verifies the verifier's certificate chain against the bundle for server authentication and
// requires its URI SAN to be exactly the expected SPIFFE ID (an X.509-SVID carries one URI SAN).
func verifySpiffePeer(cs tls.ConnectionState, roots *x509.CertPool, want string) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("verifier presented no certificate")
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return fmt.Errorf("verifier certificate: %v", err)
	}
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != want {
		got := make([]string, len(leaf.URIs))
		for i, u := range leaf.URIs {
			got[i] = u.String()
		}
		return fmt.Errorf("verifier certificate names %v, not verifier_spiffe_id %s", got, want)
	}
	return nil
}

// call sends a request and decodes a 200 answer into out; the verifier's refusals (4xx with {error, detail})
// become a refusal, anything else an error.
func (v *verifier) call(ctx context.Context, method, path string, body, out interface{}) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(v.base.String(), "/")+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("content-type", "application/json")
	}
	res, err := v.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	switch {
	case res.StatusCode == http.StatusOK:
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: undecodable answer: %v", method, path, err)
		}
		return nil
	case res.StatusCode >= 400 && res.StatusCode < 500 && res.StatusCode != http.StatusTooManyRequests:
		var e struct {
			Error  string `json:"error"`
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(data, &e)
		return refusal{fmt.Sprintf("%s (%d): %s", e.Error, res.StatusCode, e.Detail)}
	default:
		return fmt.Errorf("%s %s: HTTP %d: %.200s", method, path, res.StatusCode, data)
	}
}

var hexNonce = regexp.MustCompile(`^[0-9a-f]{16,128}$`)

func (v *verifier) nonce(ctx context.Context) (string, error) {
	var out struct {
		Nonce string `json:"nonce"`
	}
	if err := v.call(ctx, http.MethodPost, "/v1/attest/nonce", nil, &out); err != nil {
		return "", err
	}
	if !hexNonce.MatchString(out.Nonce) {
		return "", fmt.Errorf("nonce %q is not lower-case hex", out.Nonce)
	}
	return out.Nonce, nil
}

// verify posts the evidence; an accepted result's AK fingerprint is returned.
func (v *verifier) verify(ctx context.Context, node, nonce string, ev evidence) (string, error) {
	var out struct {
		Result struct {
			Accepted bool   `json:"accepted"`
			Node     string `json:"node"`
			AK       string `json:"ak"`
			Nonce    string `json:"nonce"`
		} `json:"result"`
	}
	body := map[string]string{
		"node": node, "nonce": nonce, "format": "tpm",
		"message": b64(ev.Message), "signature": b64(ev.Signature), "pcrs": b64(ev.Pcrs),
	}
	if err := v.call(ctx, http.MethodPost, "/v1/attest/verify", body, &out); err != nil {
		return "", err
	}
	r := out.Result
	if !r.Accepted || r.Node != node || r.Nonce != nonce || r.AK == "" {
		return "", refusal{fmt.Sprintf("node %s: verifier answered 200 without an accepted result for this node and nonce", node)}
	}
	return r.AK, nil
}

type agentAttributes struct {
	SpiffeID       string   `json:"spiffe_id"`
	SelectorValues []string `json:"selector_values"`
	CanReattest    bool     `json:"can_reattest"`
}

func (v *verifier) agentAttributes(ctx context.Context, node string) (agentAttributes, error) {
	var out agentAttributes
	err := v.call(ctx, http.MethodGet, "/v1/attest/spire/"+url.PathEscape(node), nil, &out)
	return out, err
}

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

func newVerifier(raw, caBundle string, timeoutSeconds int) (*verifier, error) {
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
	if caBundle != "" {
		pem, err := os.ReadFile(caBundle)
		if err != nil {
			return nil, fmt.Errorf("ca_bundle_path: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_bundle_path: %s holds no PEM certificate", caBundle)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &verifier{base: u, client: &http.Client{Transport: transport, Timeout: time.Duration(timeoutSeconds) * time.Second}}, nil
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

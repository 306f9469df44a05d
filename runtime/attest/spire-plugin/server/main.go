// meridian_attest, the SPIRE server NodeAttestor: an agent is admitted only on an accepted, fresh attestation
// result from Meridian's verifier (runtime/attest). The agent names its node; the challenge is a verifier nonce
// (POST /v1/attest/nonce); the agent's answer, its TPM quote over that nonce, is appraised by the verifier
// (POST /v1/attest/verify), and the AgentAttributes are the verifier's (GET /v1/attest/spire/:node). Anything
// the verifier refuses is PermissionDenied with its reason, so the node gets no SVID.
package main

import (
	"meridian.dev/spireplugin/plugin"
	nav1 "meridian.dev/spireproto/servernodeattestorv1"

	"google.golang.org/grpc"
)

func main() {
	a := &attestor{}
	plugin.Serve("NodeAttestor", []plugin.Service{{
		Name:     "spire.plugin.server.nodeattestor.v1.NodeAttestor",
		Register: func(s *grpc.Server) { nav1.RegisterNodeAttestorServer(s, a) },
	}}, a)
}

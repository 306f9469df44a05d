// spire-catalog-harness loads the agent and server NodeAttestor plugin binaries as SPIRE's agent and server
// catalogs do (package catalog) and relays one node attestation between them as SPIRE does: the agent
// plugin's payload to the server plugin, each server challenge to the agent plugin and its response back,
// until the server plugin returns AgentAttributes or an error. It prints one JSON line:
// {"agent_attributes": …} or {"code": "PermissionDenied", "message": …}, plus the services each plugin listed.
// For the adversary's runs: -claim replaces the node the payload names, -replay answers the challenge with a
// recorded response instead of asking the agent (-record saves one).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/grpc/status"

	"meridian.dev/spireplugin/catalog"
	agentv1 "meridian.dev/spireproto/agentnodeattestorv1"
	serverv1 "meridian.dev/spireproto/servernodeattestorv1"
)

type output struct {
	ServerServices  []string        `json:"server_services"`
	AgentServices   []string        `json:"agent_services"`
	AgentAttributes json.RawMessage `json:"agent_attributes,omitempty"`
	Code            string          `json:"code,omitempty"`
	Message         string          `json:"message,omitempty"`
}

func main() {
	serverBin := flag.String("server", "", "server plugin binary")
	agentBin := flag.String("agent", "", "agent plugin binary")
	serverSum := flag.String("server-checksum", "", "the server plugin's plugin_checksum (hex SHA-256; empty: unchecked)")
	agentSum := flag.String("agent-checksum", "", "the agent plugin's plugin_checksum (hex SHA-256; empty: unchecked)")
	td := flag.String("trust-domain", "", "SPIRE trust domain")
	serverHCL := flag.String("server-config", "", "server plugin_data (HCL)")
	agentHCL := flag.String("agent-config", "", "agent plugin_data (HCL)")
	claim := flag.String("claim", "", "replace the payload's node (an agent lying about its node)")
	record := flag.String("record", "", "save the agent's challenge response here")
	replay := flag.String("replay", "", "answer the challenge with this recorded response")
	flag.Parse()
	if err := run(*serverBin, *serverSum, *agentBin, *agentSum, *td, *serverHCL, *agentHCL, *claim, *record, *replay); err != nil {
		fmt.Fprintln(os.Stderr, "spire-catalog-harness:", err)
		os.Exit(1)
	}
}

func run(serverBin, serverSum, agentBin, agentSum, td, serverHCL, agentHCL, claim, record, replay string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	server, err := catalog.Load(ctx, serverBin, serverSum, "meridian_attest", "NodeAttestor", "spire.plugin.server.nodeattestor.v1.NodeAttestor", td, serverHCL, os.Stderr)
	if err != nil {
		return fmt.Errorf("server plugin: %w", err)
	}
	defer server.Close()
	agent, err := catalog.Load(ctx, agentBin, agentSum, "meridian_attest", "NodeAttestor", "spire.plugin.agent.nodeattestor.v1.NodeAttestor", td, agentHCL, os.Stderr)
	if err != nil {
		return fmt.Errorf("agent plugin: %w", err)
	}
	defer agent.Close()
	out := output{ServerServices: server.Services, AgentServices: agent.Services}
	attrs, err := attest(ctx, agentv1.NewNodeAttestorClient(agent.Conn), serverv1.NewNodeAttestorClient(server.Conn), claim, record, replay)
	if err != nil {
		st, ok := status.FromError(err)
		if !ok {
			return err
		}
		out.Code, out.Message = st.Code().String(), st.Message()
	} else {
		out.AgentAttributes, _ = json.Marshal(map[string]interface{}{"spiffe_id": attrs.SpiffeId, "selector_values": attrs.SelectorValues, "can_reattest": attrs.CanReattest})
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func attest(ctx context.Context, agent agentv1.NodeAttestorClient, server serverv1.NodeAttestorClient, claim, record, replay string) (*serverv1.AgentAttributes, error) {
	as, err := agent.AidAttestation(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = as.CloseSend() }()
	first, err := as.Recv()
	if err != nil {
		return nil, err
	}
	payload := first.GetPayload()
	if claim != "" {
		payload, _ = json.Marshal(map[string]string{"node": claim})
	}
	ss, err := server.Attest(ctx)
	if err != nil {
		return nil, err
	}
	if err := ss.Send(&serverv1.AttestRequest{Request: &serverv1.AttestRequest_Payload{Payload: payload}}); err != nil {
		return nil, err
	}
	for {
		resp, err := ss.Recv()
		if err != nil {
			return nil, err
		}
		if a := resp.GetAgentAttributes(); a != nil {
			return a, nil
		}
		var answer []byte
		if replay != "" {
			if answer, err = os.ReadFile(replay); err != nil {
				return nil, err
			}
		} else {
			if err := as.Send(&agentv1.Challenge{Challenge: resp.GetChallenge()}); err != nil {
				return nil, err
			}
			r, err := as.Recv()
			if err == io.EOF {
				return nil, fmt.Errorf("agent plugin closed the stream without answering the challenge")
			}
			if err != nil {
				return nil, err
			}
			answer = r.GetChallengeResponse()
		}
		if record != "" {
			if err := os.WriteFile(record, answer, 0o600); err != nil {
				return nil, err
			}
		}
		if err := ss.Send(&serverv1.AttestRequest{Request: &serverv1.AttestRequest_ChallengeResponse{ChallengeResponse: answer}}); err != nil {
			return nil, err
		}
	}
}

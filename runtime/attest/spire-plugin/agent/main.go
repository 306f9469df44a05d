// meridian_attest on the SPIRE agent: names the node, then answers each challenge (a verifier nonce) with a
// TPM quote over it, the files tpm2_quote -m/-s/-o writes (`-g sha256`), exactly what `meridian attest verify`
// takes. The quote is by the node's attestation key (a tpm2-tools context file), so only the TPM holding that
// AK can answer for the node.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"meridian.dev/spireplugin/plugin"
	nav1 "meridian.dev/spireproto/agentnodeattestorv1"
)

func main() {
	a := &agent{}
	plugin.Serve("NodeAttestor", []plugin.Service{{
		Name:     "spire.plugin.agent.nodeattestor.v1.NodeAttestor",
		Register: func(s *grpc.Server) { nav1.RegisterNodeAttestorServer(s, a) },
	}}, a)
}

type hclConfig struct {
	Node string `hcl:"node"`
	// Or the environment variable holding it: a DaemonSet's agents share one config, each on its own node.
	NodeEnv string `hcl:"node_env"`
	// A tpm2-tools context file (tpm2_createak -c) or a persistent handle (tpm2_evictcontrol), 0x81xxxxxx.
	AKContext string `hcl:"ak_context"`
	PCRList   string `hcl:"pcr_list"`
	TCTI      string `hcl:"tcti"`
	// A TPM without a resource manager (swtpm, /dev/tpm0) keeps the loaded AK; flush transient objects after.
	FlushTransient bool `hcl:"flush_transient_objects"`
	// Where tpm2-closure.sh put tpm2-tools with its loader and libraries (bin/, lib/ld.so): SPIRE's agent image
	// has neither tpm2-tools nor a libc. Empty: tpm2_quote from PATH.
	Tpm2ToolsDir string `hcl:"tpm2_tools_dir"`
}

var (
	nodeID   = regexp.MustCompile(`^[A-Za-z0-9._:/-]{1,200}$`)
	pcrList  = regexp.MustCompile(`^sha256:[0-9]{1,2}(,[0-9]{1,2})*$`)
	hexNonce = regexp.MustCompile(`^([0-9a-f]{2}){8,64}$`)
	handle   = regexp.MustCompile(`^0x81[0-9a-fA-F]{6}$`)
)

type agent struct {
	nav1.UnimplementedNodeAttestorServer
	mu  sync.RWMutex
	cur *hclConfig
}

func (a *agent) parse(td, text string) (*hclConfig, error) {
	c := &hclConfig{}
	if err := plugin.DecodeHCL(td, text, c, "node", "node_env", "ak_context", "pcr_list", "tcti", "flush_transient_objects", "tpm2_tools_dir"); err != nil {
		return nil, err
	}
	if c.PCRList == "" {
		c.PCRList = "sha256:0,1,2,3,4,5,6,7"
	}
	if c.NodeEnv != "" {
		if c.Node != "" {
			return nil, fmt.Errorf("node and node_env: set one")
		}
		c.Node = os.Getenv(c.NodeEnv)
	}
	switch {
	case !nodeID.MatchString(c.Node):
		return nil, fmt.Errorf("node: got %q (node_env %q); expected the node ID the verifier endorses this TPM's AK for", c.Node, c.NodeEnv)
	case c.AKContext == "":
		return nil, fmt.Errorf("ak_context: required (the AK's tpm2-tools context file, tpm2_createak -c, or persistent handle)")
	case !pcrList.MatchString(c.PCRList):
		return nil, fmt.Errorf("pcr_list: got %q; expected sha256:I,J,… as tpm2_quote -l takes", c.PCRList)
	}
	if _, err := os.Stat(c.AKContext); err != nil && !handle.MatchString(c.AKContext) {
		return nil, fmt.Errorf("ak_context: %v", err)
	}
	if c.Tpm2ToolsDir != "" {
		for _, f := range []string{"lib/ld.so", "bin/tpm2_quote", "bin/tpm2_flushcontext"} {
			if st, err := os.Stat(filepath.Join(c.Tpm2ToolsDir, f)); err != nil || st.Mode()&0o111 == 0 {
				return nil, fmt.Errorf("tpm2_tools_dir: %s is not an executable (%v); expected tpm2-closure.sh's output", filepath.Join(c.Tpm2ToolsDir, f), err)
			}
		}
	}
	return c, nil
}

func (a *agent) Check(td, text string) error {
	_, err := a.parse(td, text)
	return err
}

func (a *agent) Configure(td, text string) error {
	c, err := a.parse(td, text)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.cur = c
	a.mu.Unlock()
	return nil
}

func (a *agent) AidAttestation(stream nav1.NodeAttestor_AidAttestationServer) error {
	a.mu.RLock()
	c := a.cur
	a.mu.RUnlock()
	if c == nil {
		return status.Error(codes.FailedPrecondition, "meridian_attest: not configured")
	}
	payload, _ := json.Marshal(map[string]string{"node": c.Node})
	if err := stream.Send(&nav1.PayloadOrChallengeResponse{Data: &nav1.PayloadOrChallengeResponse_Payload{Payload: payload}}); err != nil {
		return err
	}
	for {
		ch, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		nonce := string(ch.GetChallenge())
		if !hexNonce.MatchString(nonce) {
			return status.Errorf(codes.InvalidArgument, "meridian_attest: challenge is not a verifier nonce (8 to 64 bytes, lower-case hex)")
		}
		answer, err := quote(c, nonce)
		if err != nil {
			return status.Errorf(codes.Internal, "meridian_attest: %v", err)
		}
		if err := stream.Send(&nav1.PayloadOrChallengeResponse{Data: &nav1.PayloadOrChallengeResponse_ChallengeResponse{ChallengeResponse: answer}}); err != nil {
			return err
		}
	}
}

// quote runs tpm2_quote over the nonce and returns {message, signature, pcrs} (base64 in JSON).
func quote(c *hclConfig, nonce string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "meridian-attest-quote-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	f := func(n string) string { return filepath.Join(dir, n) }
	env := os.Environ()
	if c.TCTI != "" {
		env = append(env, "TPM2TOOLS_TCTI="+c.TCTI)
	}
	command := func(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }
	if d := c.Tpm2ToolsDir; d != "" {
		// The bundled loader with only the bundled libraries; the TCTI modules it dlopens are found there too.
		lib := filepath.Join(d, "lib")
		env = append(env, "LD_LIBRARY_PATH="+lib)
		command = func(name string, args ...string) *exec.Cmd {
			return exec.Command(filepath.Join(lib, "ld.so"), append([]string{"--library-path", lib, filepath.Join(d, "bin", name)}, args...)...)
		}
	}
	run := func(name string, args ...string) error {
		cmd := command(name, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", name, err, out)
		}
		return nil
	}
	err = run("tpm2_quote", "-c", c.AKContext, "-l", c.PCRList, "-q", nonce, "-m", f("quote.msg"), "-s", f("quote.sig"), "-o", f("quote.pcrs"), "-g", "sha256")
	if c.FlushTransient {
		if ferr := run("tpm2_flushcontext", "-t"); err == nil {
			err = ferr
		}
	}
	if err != nil {
		return nil, err
	}
	var ev struct {
		Message   []byte `json:"message"`
		Signature []byte `json:"signature"`
		Pcrs      []byte `json:"pcrs"`
	}
	for name, dst := range map[string]*[]byte{"quote.msg": &ev.Message, "quote.sig": &ev.Signature, "quote.pcrs": &ev.Pcrs} {
		if *dst, err = os.ReadFile(f(name)); err != nil {
			return nil, err
		}
	}
	return json.Marshal(ev)
}

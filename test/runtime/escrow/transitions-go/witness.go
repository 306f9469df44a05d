// A witness of the escrow's state-transition log, built only from Go's reference packages
// golang.org/x/mod/sumdb/{note,tlog} (Debian golang-golang-x-mod-dev, GOPATH mode, no module proxy).
// test/runtime/escrow/transitions-incarnation.test.ts builds it in a temporary GOPATH.
//
//	witness <vkey> <checkpoint file A> <checkpoint file B> <escrow base URL serving B>
//
// A is a checkpoint the witness saw (it must open under vkey, its origin line being the key's name, as
// C2SP tlog-checkpoint asks); B is one seen later. If B also opens under vkey with the same origin, it is the
// same log, and it must extend A: the log's consistency proof (GET /v1/transitions/consistency) must pass
// tlog.CheckTree from A's tree to B's, and its entries (GET /v1/transitions) hash with tlog to B's root, and their
// first A.size to A's root. Otherwise B is another log, and cannot contradict A.
// Output: "ok …" lines; a rollback or fork prints "FAIL …" and exits 1.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func open(file string, v note.Verifier) (*checkpoint, error) {
	msg, err := os.ReadFile(file)
	if err != nil {
		fail("read %s: %v", file, err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return nil, err
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		fail("%s: not a checkpoint", file)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		fail("%s: size %q", file, lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("%s: root %q", file, lines[2])
	}
	return &checkpoint{lines[0], size, root}, nil
}

func entries(base string, size int64) [][]byte {
	var out [][]byte
	for int64(len(out)) < size {
		res, err := http.Get(fmt.Sprintf("%s/v1/transitions?start=%d&limit=1000", base, len(out)))
		if err != nil {
			fail("GET entries: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var page struct{ Entries []string }
		if err := json.Unmarshal(body, &page); err != nil || res.StatusCode != 200 || len(page.Entries) == 0 {
			fail("GET entries at %d: HTTP %d %v", len(out), res.StatusCode, err)
		}
		for _, e := range page.Entries {
			out = append(out, []byte(e))
		}
	}
	return out[:size]
}

func main() {
	if len(os.Args) != 5 {
		fail("usage: witness <vkey> <checkpoint A> <checkpoint B> <escrow URL>")
	}
	v, err := note.NewVerifier(os.Args[1])
	if err != nil {
		fail("note.NewVerifier: %v", err)
	}
	a, err := open(os.Args[2], v)
	if err != nil {
		fail("note.Open A: %v", err)
	}
	if a.origin != v.Name() {
		fail("A's origin %q is not its key's name %q", a.origin, v.Name())
	}
	fmt.Printf("ok note.Open A: %s size %d\n", a.origin, a.size)
	b, err := open(os.Args[3], v)
	if err != nil {
		fmt.Printf("ok another log: B does not open under A's key (note.Open: %v)\n", err)
		return
	}
	if b.origin != a.origin {
		fmt.Printf("ok another log: B's origin %q\n", b.origin)
		return
	}
	if b.size < a.size {
		fail("rollback: %s was size %d, now size %d under the same key", a.origin, a.size, b.size)
	}
	if a.size > 0 {
		res, err := http.Get(fmt.Sprintf("%s/v1/transitions/consistency?old=%d&new=%d", os.Args[4], a.size, b.size))
		if err != nil {
			fail("GET consistency: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var cp struct{ Proof []string }
		if err := json.Unmarshal(body, &cp); err != nil || res.StatusCode != 200 {
			fail("GET consistency %d -> %d: HTTP %d %s", a.size, b.size, res.StatusCode, body)
		}
		var proof tlog.TreeProof
		for _, h := range cp.Proof {
			x, err := tlog.ParseHash(h)
			if err != nil {
				fail("consistency proof hash %q: %v", h, err)
			}
			proof = append(proof, x)
		}
		if err := tlog.CheckTree(proof, b.size, b.root, a.size, a.root); err != nil {
			fail("fork: tlog.CheckTree %d -> %d: %v", a.size, b.size, err)
		}
		fmt.Printf("ok tlog.CheckTree: %d -> %d\n", a.size, b.size)
	}
	es := entries(os.Args[4], b.size)
	var stored []tlog.Hash
	for i, e := range es {
		hs, err := tlog.StoredHashes(int64(i), e, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for j, x := range idx {
				out[j] = stored[x]
			}
			return out, nil
		}))
		if err != nil {
			fail("tlog.StoredHashes: %v", err)
		}
		stored = append(stored, hs...)
	}
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for j, x := range idx {
			out[j] = stored[x]
		}
		return out, nil
	})
	treeHash := func(n int64) tlog.Hash {
		if n == 0 {
			return tlog.Hash{}
		}
		h, err := tlog.TreeHash(n, r)
		if err != nil {
			fail("tlog.TreeHash(%d): %v", n, err)
		}
		return h
	}
	if b.size > 0 && treeHash(b.size) != b.root {
		fail("B's entries do not hash to B's root")
	}
	if a.size > 0 && treeHash(a.size) != a.root {
		fail("fork: %s size %d has root %v; B's tree (size %d) has %v there", a.origin, a.size, a.root, b.size, treeHash(a.size))
	}
	fmt.Printf("ok B extends A: %d -> %d\n", a.size, b.size)
}

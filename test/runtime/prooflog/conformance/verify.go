// Conformance verifier for Meridian's proof log, built only from Go's reference packages
// golang.org/x/mod/sumdb/{note,tlog} (Debian golang-golang-x-mod-dev, GOPATH mode, no module proxy).
// test/runtime/prooflog/conformance.test.ts builds it in a temporary GOPATH and runs it against a live log.
//
//	verify log <base URL> <log vkey> <index>...   open the checkpoint with note.Open, rebuild its root from
//	                                              C2SP tlog-tiles with tlog.TileHashReader, prove and check each
//	                                              entry (bundle → tlog.RecordHash), and compare the log's JSON
//	                                              inclusion proofs with tlog.ProveRecord
//	verify consistency <base URL> <old size> <old root base64> <new size>
//	                                              compare the log's JSON consistency proof with tlog.ProveTree and
//	                                              check it with tlog.CheckTree
//	verify keygen <name>                          a Go-generated signer key line and verifier key line
//	verify sign <signer key>                      sign stdin with note.Sign
//	verify open <vkey>                            note.Open stdin, print the text
//
// Output: one line "ok …" per check; any failure prints "FAIL …" and exits 1.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
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

func get(url string) []byte {
	res, err := http.Get(url)
	if err != nil {
		fail("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		fail("GET %s: HTTP %d %v", url, res.StatusCode, err)
	}
	return body
}

// tileReader serves Go's tiles (height 8) from C2SP tlog-tiles paths: Go's tile/8/L/N is C2SP's tile/L/N.
type tileReader struct{ base string }

func (r tileReader) Height() int { return 8 }
func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		out[i] = get(r.base + "/tile/" + strings.TrimPrefix(t.Path(), "tile/8/"))
	}
	return out, nil
}
func (r tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

func bundleEntry(base string, index, size int64) []byte {
	n := index / 256
	w := size - n*256
	path := tlog.Tile{H: 8, L: 0, N: n, W: int(min64(w, 256))}.Path()
	body := get(base + "/tile/entries/" + strings.TrimPrefix(path, "tile/8/0/"))
	for i := int64(0); len(body) >= 2; i++ {
		l := int(binary.BigEndian.Uint16(body))
		if n*256+i == index {
			return body[2 : 2+l]
		}
		body = body[2+l:]
	}
	fail("entry %d not in its bundle", index)
	return nil
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

type jsonProof struct {
	Proof []string `json:"proof"`
}

func hashes(b64 []string) []tlog.Hash {
	out := make([]tlog.Hash, len(b64))
	for i, s := range b64 {
		h, err := tlog.ParseHash(s)
		if err != nil {
			fail("proof hash %d: %v", i, err)
		}
		out[i] = h
	}
	return out
}

func logCheck(base, vkey string, indices []string) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		fail("note.NewVerifier: %v", err)
	}
	n, err := note.Open(get(base+"/checkpoint"), note.VerifierList(v))
	if err != nil {
		fail("note.Open checkpoint: %v", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 || lines[0] != v.Name() {
		fail("checkpoint origin %q, expected %q", lines[0], v.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size %q", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("checkpoint root %q", lines[2])
	}
	fmt.Printf("ok note.Open checkpoint %s size %d\n", lines[0], size)
	tree := tlog.Tree{N: size, Hash: root}
	hr := tlog.TileHashReader(tree, tileReader{base})
	th, err := tlog.TreeHash(size, hr)
	if err != nil || th != root {
		fail("tlog.TreeHash from tiles: %v (%v vs %v)", err, th, root)
	}
	fmt.Printf("ok tlog.TreeHash from tiles equals the signed root\n")
	for _, s := range indices {
		i, _ := strconv.ParseInt(s, 10, 64)
		leaf := tlog.RecordHash(bundleEntry(base, i, size))
		p, err := tlog.ProveRecord(size, i, hr)
		if err != nil {
			fail("tlog.ProveRecord %d: %v", i, err)
		}
		if err := tlog.CheckRecord(p, size, root, i, leaf); err != nil {
			fail("tlog.CheckRecord %d (Go's proof): %v", i, err)
		}
		var jp jsonProof
		if err := json.Unmarshal(get(fmt.Sprintf("%s/proof/inclusion?index=%d&size=%d", base, i, size)), &jp); err != nil {
			fail("inclusion JSON: %v", err)
		}
		ours := tlog.RecordProof(hashes(jp.Proof))
		if err := tlog.CheckRecord(ours, size, root, i, leaf); err != nil {
			fail("tlog.CheckRecord %d (Meridian's proof): %v", i, err)
		}
		if fmt.Sprint(ours) != fmt.Sprint(p) {
			fail("inclusion proof %d differs from tlog.ProveRecord", i)
		}
		fmt.Printf("ok entry %d: bundle hashes to the tile, tlog.CheckRecord accepts Meridian's proof, identical to tlog.ProveRecord\n", i)
	}
}

func consistency(base string, oldSize int64, oldRoot string, newSize int64) {
	old, err := tlog.ParseHash(oldRoot)
	if err != nil {
		fail("old root: %v", err)
	}
	// The new root is the current checkpoint's; tlog.TileHashReader checks every tile it reads against it.
	lines := strings.SplitN(string(get(base+"/checkpoint")), "\n", 4)
	if s, _ := strconv.ParseInt(lines[1], 10, 64); s != newSize {
		fail("checkpoint size %s, expected %d", lines[1], newSize)
	}
	newRoot, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("checkpoint root: %v", err)
	}
	hr := tlog.TileHashReader(tlog.Tree{N: newSize, Hash: newRoot}, tileReader{base})
	goProof, err := tlog.ProveTree(newSize, oldSize, hr)
	if err != nil {
		fail("tlog.ProveTree: %v", err)
	}
	var jp jsonProof
	if err := json.Unmarshal(get(fmt.Sprintf("%s/proof/consistency?old=%d&new=%d", base, oldSize, newSize)), &jp); err != nil {
		fail("consistency JSON: %v", err)
	}
	ours := tlog.TreeProof(hashes(jp.Proof))
	if err := tlog.CheckTree(ours, newSize, newRoot, oldSize, old); err != nil {
		fail("tlog.CheckTree (Meridian's proof %d -> %d): %v", oldSize, newSize, err)
	}
	if fmt.Sprint(ours) != fmt.Sprint(goProof) {
		fail("consistency proof differs from tlog.ProveTree")
	}
	fmt.Printf("ok consistency %d -> %d: tlog.CheckTree accepts Meridian's proof, identical to tlog.ProveTree\n", oldSize, newSize)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: verify log|consistency|keygen|sign|open …")
	}
	switch os.Args[1] {
	case "log":
		logCheck(os.Args[2], os.Args[3], os.Args[4:])
	case "consistency":
		o, _ := strconv.ParseInt(os.Args[3], 10, 64)
		n, _ := strconv.ParseInt(os.Args[5], 10, 64)
		consistency(os.Args[2], o, os.Args[4], n)
	case "keygen":
		skey, vkey, err := note.GenerateKey(rand.Reader, os.Args[2])
		if err != nil {
			fail("note.GenerateKey: %v", err)
		}
		fmt.Printf("%s\n%s\n", skey, vkey)
	case "sign":
		s, err := note.NewSigner(os.Args[2])
		if err != nil {
			fail("note.NewSigner: %v", err)
		}
		text, _ := io.ReadAll(bufio.NewReader(os.Stdin))
		msg, err := note.Sign(&note.Note{Text: string(text)}, s)
		if err != nil {
			fail("note.Sign: %v", err)
		}
		os.Stdout.Write(msg)
	case "open":
		v, err := note.NewVerifier(os.Args[2])
		if err != nil {
			fail("note.NewVerifier: %v", err)
		}
		msg, _ := io.ReadAll(os.Stdin)
		n, err := note.Open(msg, note.VerifierList(v))
		if err != nil {
			fail("note.Open: %v", err)
		}
		fmt.Printf("ok note.Open %d signature(s)\n%s", len(n.Sigs), n.Text)
	default:
		fail("unknown command %q", os.Args[1])
	}
}

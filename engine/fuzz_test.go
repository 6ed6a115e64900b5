package engine_test

// FuzzCommands decodes the fuzzer's bytes into a small venue (randomConfig)
// and a short command sequence (the same generator as the randomized test,
// drawing its choices from the bytes instead of a PRNG), runs it through
// the engine and the reference matcher, and demands equal events and books
// after every command, the invariants of invariants_test.go, and equal
// events again when the commands are replayed into a fresh engine.
//
//	go test ./engine -run XXX -fuzz FuzzCommands -fuzztime 3m -fuzzminimizetime 5s
//
// (The default minimization budget of 60 s per new input would take most
// of a short run: each input runs up to fuzzMaxCmds commands twice.)
//
// The seed corpus is testdata/fuzz/FuzzCommands plus the f.Add calls.

import (
	"math/rand/v2"
	"testing"
)

// fuzzMaxCmds bounds a sequence so each input stays fast.
const fuzzMaxCmds = 150

func FuzzCommands(f *testing.F) {
	for seed := uint64(1); seed <= 8; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		b := make([]byte, 64+r.IntN(1500))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &byteSource{b: data}
		cfg := randomConfig(src)
		p := newPairRun(t, "fuzz input", cfg, true)
		g := newGen(src, cfg, p.ref)
		for i := 0; i < fuzzMaxCmds && !src.done(); i++ {
			p.step(g.next())
		}
		p.replay()
	})
}

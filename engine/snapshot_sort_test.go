package engine

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"syscall"
	"testing"
)

// randomEnts makes n index entries with distinct random fingerprints
// (some sharing digits, as fingerprints of a full table do).
func randomEnts(r *rand.Rand, n int) []idEnt {
	seen := make(map[uint64]bool, n)
	ents := make([]idEnt, 0, n)
	for len(ents) < n {
		fp := r.Uint64()
		switch r.IntN(4) {
		case 0:
			fp &= 0xffff_0000_ffff_ffff // a digit shared by many
		case 1:
			fp |= 0xffff << 48
		}
		if fp == 0 || seen[fp] {
			continue
		}
		seen[fp] = true
		ents = append(ents, idEnt{fp: fp, oid: OrderID(len(ents) + 1), slot: int32(len(ents))})
	}
	return ents
}

// TestSortByFingerprint holds the radix sort to the comparison sort it
// replaced: the snapshot's bytes depend on the order.
func TestSortByFingerprint(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 1))
	for _, n := range []int{0, 1, 2, 100, 1<<12 - 1, 1 << 12, 5000, 70000, 300000} {
		ents := randomEnts(r, n)
		want := slices.Clone(ents)
		slices.SortFunc(want, func(x, y idEnt) int { return cmp.Compare(x.fp, y.fp) })
		got := sortByFingerprint(slices.Clone(ents), make([]idEnt, len(ents)), nil)
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d (seed %d): radix order differs from the comparison sort", n, seed)
		}
	}
	// Every fingerprint with the same top 48 bits: three passes skipped.
	ents := make([]idEnt, 1<<13)
	for i := range ents {
		ents[i] = idEnt{fp: 0xabcd_0000_0000_0000 | uint64(len(ents)-i), oid: OrderID(i)}
	}
	got := sortByFingerprint(slices.Clone(ents), make([]idEnt, len(ents)), nil)
	if !slices.IsSortedFunc(got, func(x, y idEnt) int { return cmp.Compare(x.fp, y.fp) }) || got[0].oid != OrderID(len(ents)-1) {
		t.Fatal("shared high digits: not sorted")
	}
}

// BenchmarkSortByFingerprint: a snapshot's sort of the day's ClOrdID
// index, radix against the comparison sort it replaced. cpu-ns/entry is
// the benchmark thread's own CPU time (getrusage RUSAGE_THREAD), steadier
// than the wall clock when other work shares the machine.
func BenchmarkSortByFingerprint(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{100_000, 1_000_000} {
		ents := randomEnts(r, n)
		buf := make([]idEnt, n)
		run := func(name string, sort func([]idEnt)) {
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				var r0, r1 syscall.Rusage
				syscall.Getrusage(rusageThread, &r0)
				for range b.N {
					copy(buf, ents)
					sort(buf)
				}
				syscall.Getrusage(rusageThread, &r1)
				cpu := r1.Utime.Nano() - r0.Utime.Nano() + r1.Stime.Nano() - r0.Stime.Nano()
				b.ReportMetric(float64(cpu)/float64(b.N)/float64(n), "cpu-ns/entry")
			})
		}
		scratch := make([]idEnt, n)
		run("radix", func(e []idEnt) { sortByFingerprint(e, scratch, nil) })
		run("radix-alloc", func(e []idEnt) { sortByFingerprint(e, make([]idEnt, len(e)), nil) })
		run("pdqsort", func(e []idEnt) { slices.SortFunc(e, func(x, y idEnt) int { return cmp.Compare(x.fp, y.fp) }) })
	}
}

const rusageThread = 1 // RUSAGE_THREAD (Linux)

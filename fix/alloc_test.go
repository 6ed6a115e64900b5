package fix

import "testing"

// TestSubmitAllocs: a NewOrderSingle, an OrderCancelRequest and an
// OrderCancelReplaceRequest of the fast shapes, from the split fields to
// the venue's input ring, allocate nothing. The venue runs only after
// the measurement (its shard and journal allocate on their own, and
// AllocsPerRun counts every goroutine's allocations): the commands wait
// in its ring meanwhile.
func TestSubmitAllocs(t *testing.T) {
	a := idleAcceptor(t)
	p := a.parties["BANKA"]
	for _, c := range []struct {
		name string
		raw  []byte
		mt   byte
	}{{"NewOrderSingle", benchD, 'D'}, {"OrderCancelRequest", benchF, 'F'}, {"OrderCancelReplaceRequest", benchG, 'G'}} {
		var rm rawMsg
		if !rm.load(c.raw) || rm.fastShape() != c.mt {
			t.Fatalf("%s: not of a fast shape", c.name)
		}
		before := a.edgeSeq.Load()
		n := testing.AllocsPerRun(100, func() {
			if c.mt == 'D' {
				p.newOrder(&rm)
			} else {
				p.cancel(&rm, c.mt == 'G')
			}
		})
		if a.edgeSeq.Load() != before {
			t.Fatalf("%s: refused before the venue (an edge report was made)", c.name)
		}
		if n != 0 {
			t.Errorf("%s: %v allocations from the fields to the ring, want 0", c.name, n)
		}
	}
}

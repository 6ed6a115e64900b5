package fix

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
)

// TestSubmitAllocs: a NewOrderSingle, an OrderCancelRequest and an
// OrderCancelReplaceRequest of the fast shapes, from the split fields to
// the venue's input ring, allocate nothing. The venue runs only after
// the measurement (its shard and journal allocate on their own, and
// AllocsPerRun counts every goroutine's allocations): the commands wait
// in its ring meanwhile.
func TestSubmitAllocs(t *testing.T) {
	cfg := config.Demo()
	cfg.Venue.Durability = config.DurabilityNone
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	v, err := venue.Open(venue.Options{Config: cfg, DataDir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	a, err := Start(context.Background(), v, "127.0.0.1:0", Options{DataDir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	defer func() {
		go func() { ran <- v.Run(ctx) }()
		_ = a.Close()
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("venue Run: %v", err)
		}
	}()
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

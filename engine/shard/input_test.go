package shard

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fxmatch/engine"
)

// The contract tests run on every Input implementation.
var inputs = []struct {
	name string
	make func(InputConfig) (Input, error)
}{
	{"ring", func(c InputConfig) (Input, error) { return NewRing(c) }},
	// A ring that parks as soon as it finds nothing: the parking and
	// wake-up path on every empty Poll.
	{"ring-nospin", func(c InputConfig) (Input, error) { c.Spin = -1; return NewRing(c) }},
	{"chan", func(c InputConfig) (Input, error) { return NewChanInput(c) }},
}

func forEachInput(t *testing.T, f func(t *testing.T, mk func(InputConfig) Input)) {
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			f(t, func(c InputConfig) Input {
				t.Helper()
				i, err := in.make(c)
				if err != nil {
					t.Fatal(err)
				}
				return i
			})
		})
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() int64                  { return c.ns.Load() }
func (c *fakeClock) set(ns int64)                { c.ns.Store(ns) }
func (c *fakeClock) add(d time.Duration)         { c.ns.Add(int64(d)) }
func newFakeClock(ns int64) *fakeClock           { c := &fakeClock{}; c.set(ns); return c }
func (c *fakeClock) at() time.Time               { return time.Unix(0, c.now()).UTC() }
func (c *fakeClock) after(d time.Duration) int64 { return c.now() + int64(d) }

// checkFor polls cond until it holds or the time is up (nats-server
// style), instead of sleeping a guessed amount.
func checkFor(t *testing.T, total time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("timed out after %v: %v", total, err)
}

// tagged is a command that says who offered it and its index: Party is the
// producer, Qty the index.
func tagged(p, k int) engine.Command {
	return engine.Command{Kind: engine.CmdTick, Party: engine.PartyID(p), Qty: engine.Qty(k), Seq: 999, Time: -5}
}

func TestInputManyProducers(t *testing.T) {
	const producers, perProducer = 8, 20000
	forEachInput(t, func(t *testing.T, mk func(InputConfig) Input) {
		clock := newFakeClock(1_000)
		in := mk(InputConfig{Capacity: 64, NextSeq: 77, Clock: func() int64 { return clock.ns.Add(3) }})
		var busy atomic.Int64
		var wg sync.WaitGroup
		for p := range producers {
			wg.Go(func() {
				for k := 0; k < perProducer; {
					c := tagged(p, k)
					switch err := in.Offer(&c); {
					case err == nil:
						k++
					case errors.Is(err, ErrBusy):
						busy.Add(1)
						runtime.Gosched()
					default:
						t.Errorf("producer %d: offer: %v", p, err)
						return
					}
				}
			})
		}
		go func() { wg.Wait(); in.Close() }()

		next := make([]int, producers)
		dst := make([]engine.Command, 37)
		seq, lastTime, total := uint64(77), int64(0), 0
		for {
			n, err := in.Poll(dst)
			if errors.Is(err, ErrClosed) {
				break
			}
			if err != nil || n < 1 || n > len(dst) {
				t.Fatalf("poll: n=%d err=%v", n, err)
			}
			for _, c := range dst[:n] {
				if c.Seq != seq {
					t.Fatalf("seq %d, want %d", c.Seq, seq)
				}
				seq++
				if c.Time < lastTime || c.Time < 1_000 {
					t.Fatalf("time %d after %d", c.Time, lastTime)
				}
				lastTime = c.Time
				p, k := int(c.Party), int(c.Qty)
				if next[p] != k { // exactly once and in the producer's order
					t.Fatalf("producer %d: got command %d, want %d", p, k, next[p])
				}
				next[p]++
				total++
			}
		}
		if total != producers*perProducer {
			t.Fatalf("delivered %d, want %d", total, producers*perProducer)
		}
		t.Logf("%d commands, %d busy answers", total, busy.Load())
	})
}

func TestInputBusyWhenFull(t *testing.T) {
	forEachInput(t, func(t *testing.T, mk func(InputConfig) Input) {
		in := mk(InputConfig{Capacity: 8, NextSeq: 1})
		for k := range 8 {
			c := tagged(1, k)
			if err := in.Offer(&c); err != nil {
				t.Fatalf("offer %d: %v", k, err)
			}
		}
		c := tagged(1, 8)
		if err := in.Offer(&c); !errors.Is(err, ErrBusy) || err.Error() != "shard: busy" {
			t.Fatalf("offer to a full input: %v, want shard: busy", err)
		}
		dst := make([]engine.Command, 3)
		if n, err := in.Poll(dst); n != 3 || err != nil {
			t.Fatalf("poll: %d %v", n, err)
		}
		for k := 8; k < 11; k++ {
			c := tagged(1, k)
			if err := in.Offer(&c); err != nil {
				t.Fatalf("offer %d after poll: %v", k, err)
			}
		}
		if err := in.Offer(&c); !errors.Is(err, ErrBusy) {
			t.Fatalf("full again: %v", err)
		}
		dst = make([]engine.Command, 100)
		n, err := in.Poll(dst)
		if n != 8 || err != nil {
			t.Fatalf("poll: %d %v, want the 8 waiting", n, err)
		}
		for i, c := range dst[:n] {
			if int(c.Qty) != i+3 || c.Seq != uint64(i+4) {
				t.Fatalf("command %d: qty %d seq %d", i, c.Qty, c.Seq)
			}
		}
	})
}

func TestInputClose(t *testing.T) {
	forEachInput(t, func(t *testing.T, mk func(InputConfig) Input) {
		in := mk(InputConfig{Capacity: 16, NextSeq: 5})
		for k := range 3 {
			c := tagged(1, k)
			if err := in.Offer(&c); err != nil {
				t.Fatal(err)
			}
		}
		in.Close()
		in.Close() // idempotent
		c := tagged(1, 3)
		if err := in.Offer(&c); !errors.Is(err, ErrClosed) || err.Error() != "shard: closed" {
			t.Fatalf("offer after close: %v", err)
		}
		dst := make([]engine.Command, 2)
		got := 0
		for {
			n, err := in.Poll(dst)
			if errors.Is(err, ErrClosed) {
				break
			}
			got += n
		}
		if got != 3 {
			t.Fatalf("drained %d after close, want the 3 accepted", got)
		}
		if n, err := in.Poll(dst); n != 0 || !errors.Is(err, ErrClosed) {
			t.Fatalf("poll after drain: %d %v", n, err)
		}
	})
}

// A consumer parked in Poll must see Close.
func TestInputCloseWakesPoll(t *testing.T) {
	forEachInput(t, func(t *testing.T, mk func(InputConfig) Input) {
		in := mk(InputConfig{Capacity: 16, NextSeq: 1})
		done := make(chan error)
		go func() {
			_, err := in.Poll(make([]engine.Command, 4))
			done <- err
		}()
		time.Sleep(20 * time.Millisecond) // long enough to park
		in.Close()
		select {
		case err := <-done:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("poll: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Poll did not return after Close")
		}
	})
}

// Offers racing with Close: every Offer that returned nil is delivered,
// nothing else is.
func TestInputCloseRace(t *testing.T) {
	forEachInput(t, func(t *testing.T, mk func(InputConfig) Input) {
		for round := range 50 {
			in := mk(InputConfig{Capacity: 1024, NextSeq: 1})
			var accepted atomic.Int64
			var wg sync.WaitGroup
			for p := range 4 {
				wg.Go(func() {
					for k := 0; ; k++ {
						c := tagged(p, k)
						err := in.Offer(&c)
						if errors.Is(err, ErrClosed) {
							return
						}
						if err == nil {
							accepted.Add(1)
						}
						if k%16 == 0 {
							runtime.Gosched()
						}
					}
				})
			}
			go func() {
				time.Sleep(time.Duration(round%5) * 100 * time.Microsecond)
				in.Close()
			}()
			delivered := 0
			dst := make([]engine.Command, 64)
			for {
				n, err := in.Poll(dst)
				if errors.Is(err, ErrClosed) {
					break
				}
				delivered += n
			}
			wg.Wait()
			if int64(delivered) != accepted.Load() {
				t.Fatalf("round %d: delivered %d, accepted %d", round, delivered, accepted.Load())
			}
		}
	})
}

// Ping-pong through the input so the consumer parks between commands:
// every command must wake it (a lost wake-up hangs the test).
func TestInputWakeups(t *testing.T) {
	forEachInput(t, func(t *testing.T, mk func(InputConfig) Input) {
		in := mk(InputConfig{Capacity: 4, NextSeq: 1})
		ack := make(chan struct{})
		go func() {
			dst := make([]engine.Command, 4)
			for {
				n, err := in.Poll(dst)
				if err != nil {
					close(ack)
					return
				}
				for range n {
					ack <- struct{}{}
				}
			}
		}()
		for k := range 300 {
			if k%50 == 0 {
				time.Sleep(2 * time.Millisecond) // let the consumer park for sure
			}
			c := tagged(1, k)
			if err := in.Offer(&c); err != nil {
				t.Fatal(err)
			}
			select {
			case <-ack:
			case <-time.After(5 * time.Second):
				t.Fatalf("command %d not delivered: lost wake-up", k)
			}
		}
		in.Close()
		<-ack
	})
}

func TestInputSeqStartAndClockClamp(t *testing.T) {
	forEachInput(t, func(t *testing.T, mk func(InputConfig) Input) {
		clock := newFakeClock(5000)
		in := mk(InputConfig{Capacity: 4, NextSeq: 1 << 40, Clock: clock.now})
		dst := make([]engine.Command, 4)
		offer := func() {
			c := tagged(1, 0)
			if err := in.Offer(&c); err != nil {
				t.Fatal(err)
			}
		}
		offer()
		if n, _ := in.Poll(dst); n != 1 || dst[0].Seq != 1<<40 || dst[0].Time != 5000 {
			t.Fatalf("first: n=%d %+v", n, dst[0])
		}
		clock.set(4000) // the clock steps back
		offer()
		if n, _ := in.Poll(dst); n != 1 || dst[0].Seq != 1<<40+1 || dst[0].Time != 5000 {
			t.Fatalf("after step back: seq %d time %d, want time held at 5000", dst[0].Seq, dst[0].Time)
		}
	})
}

func TestInputConfigErrors(t *testing.T) {
	for _, c := range []InputConfig{{Capacity: 0, NextSeq: 1}, {Capacity: 8, NextSeq: 0}, {Capacity: -1, NextSeq: 1}} {
		if _, err := NewRing(c); err == nil {
			t.Errorf("NewRing(%+v): no error", c)
		}
		if _, err := NewChanInput(c); err == nil {
			t.Errorf("NewChanInput(%+v): no error", c)
		}
	}
	if _, err := NewRing(InputConfig{Capacity: 12, NextSeq: 1}); err == nil {
		t.Error("NewRing accepted capacity 12")
	}
	if _, err := NewChanInput(InputConfig{Capacity: 12, NextSeq: 1}); err != nil {
		t.Errorf("NewChanInput(12): %v", err)
	}
}

// Offer and Poll allocate nothing.
func TestInputZeroAlloc(t *testing.T) {
	r, _ := NewRing(InputConfig{Capacity: 64, NextSeq: 1})
	ch, _ := NewChanInput(InputConfig{Capacity: 64, NextSeq: 1})
	for _, in := range []Input{r, ch} {
		c := tagged(1, 1)
		dst := make([]engine.Command, 8)
		allocs := testing.AllocsPerRun(1000, func() {
			for range 4 {
				if err := in.Offer(&c); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := in.Poll(dst); n != 4 || err != nil {
				t.Fatal(n, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%T: %v allocations per 4 offers and a poll", in, allocs)
		}
	}
}

// BenchmarkInput measures one producer and one consumer through each
// input, per command.
func BenchmarkInput(b *testing.B) {
	for _, in := range inputs {
		for _, producers := range []int{1, 4} {
			b.Run(in.name+"/producers="+string(rune('0'+producers)), func(b *testing.B) {
				q, err := in.make(InputConfig{Capacity: 4096, NextSeq: 1})
				if err != nil {
					b.Fatal(err)
				}
				per := b.N/producers + 1
				var wg sync.WaitGroup
				b.ResetTimer()
				for p := range producers {
					wg.Go(func() {
						c := tagged(p, 0)
						for k := 0; k < per; {
							if q.Offer(&c) == nil {
								k++
							} else {
								runtime.Gosched()
							}
						}
					})
				}
				go func() { wg.Wait(); q.Close() }()
				dst := make([]engine.Command, 256)
				for {
					if _, err := q.Poll(dst); err != nil {
						break
					}
				}
			})
		}
	}
}

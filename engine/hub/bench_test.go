package hub

import (
	"strconv"
	"testing"

	"fxmatch/engine"
)

// benchEvents is a commit group of the mix bench fix sends by default:
// each order is accepted and rests (a level change), and each cancel is
// answered and removes it (another level change).
func benchEvents(n int) []engine.Event {
	evs := make([]engine.Event, 0, n)
	for i := 0; len(evs) < n; i++ {
		seq := uint64(i / 2)
		switch i % 4 {
		case 0:
			evs = append(evs, engine.Event{Kind: engine.EvAccepted, Seq: seq, Party: 1, Instrument: 0})
		case 1, 3:
			evs = append(evs, engine.Event{Kind: engine.EvLevel, Seq: seq, Instrument: 0})
		case 2:
			evs = append(evs, engine.Event{Kind: engine.EvCancelled, Seq: seq, Party: 1, Instrument: 0})
		}
	}
	return evs
}

// BenchmarkPublish publishes commit groups to the subscribers of a full
// serve (demo configuration: 5 participants, 8 instruments) and has each
// subscriber read what it wants, on the benchmark's goroutine: the hub's
// whole cost per event, without the goroutine wake-ups.
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{4, 16, 64} {
		b.Run("events="+strconv.Itoa(n), func(b *testing.B) {
			h := New(6, 8)
			var subs []*Sub
			for p := 1; p <= 5; p++ {
				s, _ := h.SubscribeParty(engine.PartyID(p), 1<<14) // FIX execPump
				subs = append(subs, s)
				s, _ = h.SubscribeParty(engine.PartyID(p), 1<<13) // gateway participant feed
				subs = append(subs, s)
			}
			s, _ := h.SubscribeParty(4, 1<<14) // broker store
			subs = append(subs, s)
			s, _ = h.SubscribeDropCopy([]bool{false, true, true, true, true, false}, 1<<14) // regulator
			subs = append(subs, s)
			for i := 0; i < 8; i++ {
				s, _ := h.SubscribeMarket(engine.InstrumentID(i), 1<<13) // gateway instrument feed
				subs = append(subs, s)
			}
			s, _ = h.SubscribeAll(1 << 16) // NATS bridge
			subs = append(subs, s)
			s, _ = h.SubscribeAll(1 << 16) // metrics
			subs = append(subs, s)
			evs := benchEvents(n)
			var sink uint64
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				h.Publish(evs)
				for _, s := range subs {
					for len(s.C) > 0 {
						b := <-s.C
						for ev := range s.Events(b) {
							sink += ev.Seq
						}
						b.Release()
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
			_ = sink
		})
	}
}

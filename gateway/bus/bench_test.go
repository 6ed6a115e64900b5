package bus

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/nats-io/nats.go"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
)

// BenchmarkPublish measures the bus end to end on the embedded server,
// open loop: b.N crossing order pairs enter the venue as fast as it takes
// them (durability none, so the journal's sync does not dominate), and a
// participant's TCP connection subscribed to every execution, trade and
// book counts what arrives. Reported:
//
//	msgs/s            NATS messages delivered per second to the subscriber
//	delay_p50_us, delay_p99_us, delay_max_us
//	                  from the hub's release of a durable execution event
//	                  (stamped by a second hub subscriber) to its arrival,
//	                  decoded, at the NATS subscriber; under this flood it
//	                  is mostly queueing (see BenchmarkDelay)
//
// go test -run XXX -bench Publish -benchtime 20000x ./gateway/bus
func BenchmarkPublish(b *testing.B) { benchBus(b, false) }

// BenchmarkDelay is BenchmarkPublish closed loop: one order pair at a
// time, the next after the last execution event of the previous one has
// arrived, so the delays are the pipeline's own, without queueing.
//
// go test -run XXX -bench Delay -benchtime 2000x ./gateway/bus
func BenchmarkDelay(b *testing.B) { benchBus(b, true) }

func benchBus(b *testing.B, closedLoop bool) {
	cfg := demoConfig()
	cfg.Venue.Durability = config.DurabilityNone
	v := openVenue(b, cfg)
	bs, err := Start(context.Background(), v, cfg, Options{Logger: tlog(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	n := b.N
	// Stamps of the hub's release, by ExecID (one shard: ExecIDs count
	// from 1).
	stamps := make([]atomic.Int64, 8*n+64)
	stamp, err := v.Hub().SubscribeAll(16*n + 1024)
	if err != nil {
		b.Fatal(err)
	}
	var stampWG sync.WaitGroup
	stampWG.Go(func() {
		for b := range stamp.C {
			now := time.Now().UnixNano()
			for ev := range stamp.Events(b) {
				if ev.ExecID < uint64(len(stamps)) {
					stamps[ev.ExecID].Store(now)
				}
			}
			b.Release()
		}
	})
	stop := run(b, v)

	reg := mustConnect(b, bs.ClientURL(), "REGULATOR", config.DemoPassword)
	hist := hdrhistogram.New(1, int64(10*time.Second/time.Microsecond), 3)
	var msgs, execs atomic.Int64
	var mu sync.Mutex
	allExecs := make(chan struct{})
	pairDone := make(chan struct{}, 1)
	want := int64(4 * n) // per pair: two accepted, two fills
	handler := func(m *nats.Msg) {
		now := time.Now().UnixNano()
		msgs.Add(1)
		if len(m.Subject) < 13 || m.Subject[:13] != "fxmatch.exec." {
			return
		}
		var x struct {
			ExecID uint64 `json:"exec_id,string"`
		}
		if err := json.Unmarshal(m.Data, &x); err == nil && x.ExecID < uint64(len(stamps)) {
			if t0 := stamps[x.ExecID].Load(); t0 != 0 {
				mu.Lock()
				_ = hist.RecordValue((now - t0) / 1000)
				mu.Unlock()
			}
		}
		k := execs.Add(1)
		if k%4 == 0 {
			select {
			case pairDone <- struct{}{}:
			default:
			}
		}
		if k == want {
			close(allExecs)
		}
	}
	for _, s := range []string{ExecAll, MDAll, TradesAll} {
		sub, err := reg.Subscribe(s, handler)
		if err != nil {
			b.Fatal(err)
		}
		_ = sub.SetPendingLimits(-1, -1)
	}
	_ = reg.Flush()
	usdcny, _ := v.Instrument("USD/CNY")
	pa, pb := party(b, cfg, "BANKA"), party(b, cfg, "BANKB")
	submit := func(c *engine.Command) {
		for {
			err := v.Submit(c)
			if err == nil {
				return
			}
			if !errors.Is(err, venue.ErrBusy) {
				b.Fatal(err)
			}
			time.Sleep(10 * time.Microsecond)
		}
	}
	ids := make([]engine.ID, 2*n)
	for i := range ids {
		ids[i] = engine.MustID("o" + itoa(i))
	}
	b.ResetTimer()
	start := time.Now()
	for i := range n {
		c := limit(pa, usdcny, "", engine.Buy, 100_000, 710_000_000)
		c.ClOrdID = ids[2*i]
		submit(c)
		c = limit(pb, usdcny, "", engine.Sell, 100_000, 710_000_000)
		c.ClOrdID = ids[2*i+1]
		submit(c)
		if closedLoop {
			select {
			case <-pairDone:
			case <-time.After(10 * time.Second):
				b.Fatalf("pair %d: execution events did not arrive; bus stats %+v", i, bs.Stats())
			}
		}
	}
	select {
	case <-allExecs:
	case <-time.After(60 * time.Second):
		b.Fatalf("only %d of %d execution events arrived; bus stats %+v", execs.Load(), want, bs.Stats())
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(msgs.Load())/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(hist.ValueAtQuantile(50)), "delay_p50_us")
	b.ReportMetric(float64(hist.ValueAtQuantile(99)), "delay_p99_us")
	b.ReportMetric(float64(hist.Max()), "delay_max_us")
	if st := bs.Stats(); st.Dropped != 0 || st.Gaps != 0 {
		b.Errorf("stats %+v", st)
	}
	stop()
	stampWG.Wait()
}

func itoa(i int) string {
	var buf [20]byte
	p := len(buf)
	for {
		p--
		buf[p] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(buf[p:])
		}
	}
}

// BenchmarkHandle is the publisher's own cost per execution event,
// without the venue: events are handed to it directly. heard: a
// participant's connection is subscribed to the subject (and discards
// what it gets), so each event is encoded and published into the
// in-process connection's buffer; unheard: nobody is subscribed, so the
// event is only counted (see isHeard).
//
// go test -run XXX -bench Handle ./gateway/bus
func BenchmarkHandle(b *testing.B) {
	cfg := demoConfig()
	v := openVenue(b, cfg)
	bs, err := Start(context.Background(), v, cfg, Options{Logger: tlog(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	// The venue does not run, so the publisher goroutine waits on an empty
	// hub subscription and this goroutine may use its state.
	fill := engine.Event{Kind: engine.EvFill, Seq: 9, Time: 1_795_000_000_000_000_000, ExecID: 12, Party: 1, Instrument: 0,
		OrderID: 3, Side: engine.Buy, OrdType: engine.Limit, TIF: engine.GTC, Price: 710_000_000, OrderQty: 1_000_000,
		CumQty: 1_000_000, AvgPx: 710_000_000, LastQty: 1_000_000, LastPx: 710_000_000, TradeID: 1, Counterparty: 2,
		TradeDate: 20261125, SettlDate: 20261127, ClOrdID: engine.MustID("a1")}
	b.Run("unheard", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bs.handle(&fill)
		}
	})
	b.Run("heard", func(b *testing.B) {
		a := mustConnect(b, bs.ClientURL(), "BANKA", config.DemoPassword)
		sub, err := a.Subscribe(ExecSubject("BANKA"), func(*nats.Msg) {})
		if err != nil {
			b.Fatal(err)
		}
		_ = sub.SetPendingLimits(-1, -1)
		_ = a.Flush()
		b.ReportAllocs()
		for b.Loop() {
			bs.handle(&fill)
		}
	})
	if st := bs.Stats(); st.Dropped != 0 {
		b.Fatalf("stats %+v", st)
	}
}

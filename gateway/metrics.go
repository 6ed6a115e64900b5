package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/engine"
	"fxmatch/engine/hub"
	"fxmatch/internal/metrics"
)

// The operators' numbers. Most come from the venue's durable event stream:
// the gateway subscribes to every event (hub.SubscribeAll) and counts
// them on its own goroutine, so the matching path carries no
// instrumentation at all. The rest are read from where they already live
// when /metrics is scraped: the journal writer's counters and commit-time
// histogram, the hub's laggard count, the FIX acceptor's sessions, the
// venue's orders-by-channel counters (one atomic add per order on the
// submitting goroutine), the NATS connection.

// FIXStatus is what the gateway reads from the FIX acceptor (fix.Acceptor
// implements it) for /readyz and /metrics.
type FIXStatus interface {
	Listening() bool
	LoggedOn() int
}

// opsState holds the ops routes' counters and the regulator's query slot.
type opsState struct {
	start time.Time

	events  [numEventKinds]atomic.Uint64
	rejects [numReasons]atomic.Uint64
	cancels [numReasons]atomic.Uint64 // cancelled and expired, by reason
	traded  atomic.Uint64             // base quantity traded
	// durableAck: from a command's sequencing (its Time) to its
	// acknowledging event reaching this subscriber, durable.
	durableAck *metrics.Histogram
	// orderAck: HTTP POST /orders, from the request's arrival to its
	// durable answer (fed by the order handler through observeOrderAck).
	orderAck *metrics.Histogram
	// feedLost counts times the metrics feed fell behind the hub and was
	// cut off (it resubscribes; the events in between are not counted).
	feedLost atomic.Uint64

	wsClients atomic.Int64

	// regSlot admits one regulator query at a time: each replays the
	// journal on a core the venue also needs.
	regSlot chan struct{}
	regBusy atomic.Uint64

	scrapeBuf sync.Pool
}

const (
	numEventKinds = 16
	numReasons    = 64
)

// metricsFeedQueue bounds the metrics subscriber's queue: a few seconds
// of peak event rate; beyond it the hub cuts the subscriber off rather
// than slow anyone.
const metricsFeedQueue = 1 << 16

func newOpsState() *opsState {
	return &opsState{
		start:      time.Now(),
		durableAck: metrics.NewHistogram(metrics.LatencyBounds...),
		orderAck:   metrics.NewHistogram(metrics.LatencyBounds...),
		regSlot:    make(chan struct{}, 1),
	}
}

// observeOrderAck records one HTTP order's time from arrival to its
// durable answer. The order handler (core_api.go) calls it.
func (s *Server) observeOrderAck(arrived time.Time) {
	s.ops.orderAck.Observe(int64(time.Since(arrived)))
}

// wsClientDelta counts WebSocket clients (+1 on accept, -1 on close); the
// stream handler calls it.
func (s *Server) wsClientDelta(d int64) { s.ops.wsClients.Add(d) }

// startMetricsFeed subscribes to every durable event and counts them
// until the server closes or the hub does. It runs from New, before the
// venue runs, so no event is missed.
func (s *Server) startMetricsFeed() error {
	sub, err := s.v.Hub().SubscribeAll(metricsFeedQueue)
	if err != nil {
		return s.errorf("metrics feed: %v", err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			lagged := s.countEvents(sub)
			if !lagged {
				return
			}
			s.ops.feedLost.Add(1)
			s.log.Warn("gateway: the metrics feed fell behind the hub and was cut off; resubscribing (events in between are not counted)")
			if sub, err = s.v.Hub().SubscribeAll(metricsFeedQueue); err != nil {
				return
			}
		}
	}()
	return nil
}

// countEvents reads sub until it closes (reporting whether it was cut off
// for lagging) or the server closes.
func (s *Server) countEvents(sub *hub.Sub) (lagged bool) {
	o := s.ops
	for {
		select {
		case <-s.ctx.Done():
			s.v.Hub().Unsubscribe(sub)
			return false
		case b, ok := <-sub.C:
			if !ok {
				return errors.Is(sub.Err(), hub.ErrLagged)
			}
			// One clock reading per batch: its events reached this
			// subscriber together (a reading costs 70-200 ns on this
			// kind of VM).
			now := time.Now().UnixNano()
			for ev := range sub.Events(b) {
				o.count(ev, now)
			}
			b.Release()
		}
	}
}

// count is the per-event work: a few atomic adds, no allocation. now is
// when the event reached the feed, in Unix nanoseconds.
func (o *opsState) count(ev *engine.Event, now int64) {
	if k := int(ev.Kind); k < numEventKinds {
		o.events[k].Add(1)
	}
	r := int(ev.Reason) % numReasons
	ack := false
	switch ev.Kind {
	case engine.EvAccepted, engine.EvReplaced, engine.EvCancelRejected:
		ack = true
	case engine.EvRejected:
		o.rejects[r].Add(1)
		ack = true
	case engine.EvCancelled:
		o.cancels[r].Add(1)
		ack = ev.Reason == engine.ReasonRequested
	case engine.EvExpired:
		o.cancels[r].Add(1)
	case engine.EvTrade:
		o.traded.Add(uint64(ev.LastQty))
	}
	if ack {
		o.durableAck.Observe(now - ev.Time)
	}
}

// eventKindNames are the label values of fxmatch_events_total.
var eventKindNames = map[engine.EventKind]string{
	engine.EvAccepted: "accepted", engine.EvRejected: "rejected", engine.EvFill: "fill",
	engine.EvCancelled: "cancelled", engine.EvReplaced: "replaced", engine.EvExpired: "expired",
	engine.EvCancelRejected: "cancel_rejected", engine.EvMassCancelReport: "mass_cancel_report",
	engine.EvTrade: "trade", engine.EvLevel: "level", engine.EvCreditSet: "credit_set",
	engine.EvDayRolled: "day_rolled",
}

// rejectReasons are the reasons an order can be rejected with (the
// engine's reject block); cancelReasons those it can be cancelled or
// expired with. Every one is exposed, zero or not, so the series are
// stable.
var (
	rejectReasons = reasonRange(engine.ReasonUnknownSymbol, engine.ReasonUnavailable)
	cancelReasons = reasonRange(engine.ReasonRequested, engine.ReasonGTDExpired)
)

func reasonRange(lo, hi engine.Reason) []engine.Reason {
	var out []engine.Reason
	for r := lo; r <= hi; r++ {
		out = append(out, r)
	}
	return out
}

// getMetrics serves the Prometheus text exposition.
func (s *Server) getMetrics(w http.ResponseWriter, r *http.Request) {
	bp, _ := s.ops.scrapeBuf.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	d := s.appendMetrics((*bp)[:0])
	h := w.Header()
	h.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.Write(d)
	*bp = d
	s.ops.scrapeBuf.Put(bp)
}

// appendMetrics writes every family. Names follow Prometheus practice:
// counters end in _total, times are in seconds, sizes in bytes.
func (s *Server) appendMetrics(d []byte) []byte {
	o := s.ops
	v := s.v
	counter := func(name, help string, val uint64) {
		d = metrics.AppendHeader(d, name, help, "counter")
		d = metrics.AppendUint(d, name, nil, val)
	}
	gauge := func(name, help string, val float64) {
		d = metrics.AppendHeader(d, name, help, "gauge")
		d = metrics.AppendSample(d, name, nil, val)
	}
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}

	gauge("fxmatch_start_time_seconds", "When this process's gateway started, Unix seconds.", float64(o.start.UnixNano())/1e9)
	gauge("fxmatch_venue_running", "1 while the venue runs and its journal can write (it takes orders), else 0.", b2f(v.Running()))

	d = metrics.AppendHeader(d, "fxmatch_orders_received_total", "Orders and replaces offered to the venue (venue.SubmitOrder), by channel, before pre-trade scoring and sequencing.", "counter")
	for _, ch := range []string{"fix", "http", "other"} {
		d = metrics.AppendUint(d, "fxmatch_orders_received_total", []metrics.Label{{Name: "channel", Value: ch}}, v.OrdersReceived(ch))
	}

	counter("fxmatch_orders_blocked_total", "Orders and replaces refused by pre-trade scoring (never sequenced; HTTP 422 reason risk, FIX 103=99 risk:).", v.OrdersBlocked())

	d = metrics.AppendHeader(d, "fxmatch_events_total", "Durable engine events published by the hub, by kind (counted from the event stream).", "counter")
	for k := engine.EventKind(1); k < numEventKinds; k++ {
		if name, ok := eventKindNames[k]; ok {
			d = metrics.AppendUint(d, "fxmatch_events_total", []metrics.Label{{Name: "kind", Value: name}}, o.events[k].Load())
		}
	}
	counter("fxmatch_fills_total", "Fill events (each trade fills two orders).", o.events[engine.EvFill].Load())
	counter("fxmatch_trades_total", "Trades.", o.events[engine.EvTrade].Load())
	counter("fxmatch_traded_quantity_total", "Base-currency quantity traded.", o.traded.Load())

	d = metrics.AppendHeader(d, "fxmatch_order_rejects_total", "Orders the engine rejected (journaled rejects), by reason keyword. Requests refused at the edge before sequencing (HTTP 4xx, FIX session rejects) are not counted here.", "counter")
	for _, r := range rejectReasons {
		d = metrics.AppendUint(d, "fxmatch_order_rejects_total", []metrics.Label{{Name: "reason", Value: r.String()}}, o.rejects[r].Load())
	}
	d = metrics.AppendHeader(d, "fxmatch_order_cancels_total", "Orders cancelled or expired, by reason keyword.", "counter")
	for _, r := range cancelReasons {
		d = metrics.AppendUint(d, "fxmatch_order_cancels_total", []metrics.Label{{Name: "reason", Value: r.String()}}, o.cancels[r].Load())
	}

	da := o.durableAck.Snapshot()
	d = metrics.AppendHeader(d, "fxmatch_durable_ack_seconds", "From a command's sequencing to its acknowledging event (accepted, rejected, replaced, cancelled on request, cancel rejected) being durable and published by the hub.", "histogram")
	d = metrics.AppendHistogram(d, "fxmatch_durable_ack_seconds", nil, &da, 1e9)
	oa := o.orderAck.Snapshot()
	d = metrics.AppendHeader(d, "fxmatch_http_order_ack_seconds", "HTTP POST /orders: from the request's arrival to its durable answer.", "histogram")
	d = metrics.AppendHistogram(d, "fxmatch_http_order_ack_seconds", nil, &oa, 1e9)

	j := v.Journal()
	st := j.Stats()
	ct := j.CommitTimes().Snapshot()
	d = metrics.AppendHeader(d, "fxmatch_journal_commit_seconds", "Journal group commits: from the writer taking a group to its sync acknowledged.", "histogram")
	d = metrics.AppendHistogram(d, "fxmatch_journal_commit_seconds", nil, &ct, 1e9)
	counter("fxmatch_journal_commits_total", "Durable journal group commits.", st.Commits)
	counter("fxmatch_journal_records_total", "Journal records (sequenced commands with their events) made durable.", st.Records)
	counter("fxmatch_journal_bytes_total", "Journal block bytes written (values, excluding keys).", st.Bytes)
	gauge("fxmatch_journal_writable", "1 while the journal can write, 0 once a write or sync failed (the venue then takes no commands).", b2f(j.Err() == nil))
	d = metrics.AppendHeader(d, "fxmatch_journal_durable_seq", "The last durable sequence of each shard.", "gauge")
	for si := range v.Shards() {
		d = metrics.AppendSample(d, "fxmatch_journal_durable_seq", []metrics.Label{{Name: "shard", Value: strconv.Itoa(si)}}, float64(v.Durable(si)))
	}
	// Engine snapshots, taken per shard by a snapshotter goroutine from a
	// shadow engine (cmd/fxmatch/venue/snapshotter.go).
	perShard := func(name, help, typ string, f func(venue.SnapshotStats) float64) {
		d = metrics.AppendHeader(d, name, help, typ)
		for si := range v.Shards() {
			d = metrics.AppendSample(d, name, []metrics.Label{{Name: "shard", Value: strconv.Itoa(si)}}, f(v.SnapshotStats(si)))
		}
	}
	perShard("fxmatch_snapshots_total", "Engine snapshots stored since start, per shard.", "counter",
		func(st venue.SnapshotStats) float64 { return float64(st.Taken) })
	perShard("fxmatch_snapshot_seq", "The sequence of the newest engine snapshot stored since start (0: none yet), per shard.", "gauge",
		func(st venue.SnapshotStats) float64 { return float64(st.LastSeq) })
	perShard("fxmatch_snapshot_queue_waits_total", "Times a shard waited for room in its snapshotter's queue (the snapshotter not keeping up).", "counter",
		func(st venue.SnapshotStats) float64 { return float64(st.Waits) })
	perShard("fxmatch_snapshot_queue_wait_seconds_total", "Time shards spent waiting for room in their snapshotter's queue.", "counter",
		func(st venue.SnapshotStats) float64 { return st.WaitTime.Seconds() })
	perShard("fxmatch_snapshot_diverged", "1 once a shard's snapshotter found its shadow engine apart from the shard's engine and stopped storing snapshots (a bug; recovery then replays from the last good one).", "gauge",
		func(st venue.SnapshotStats) float64 { return b2f(st.Diverged) })

	fixUp, fixSessions := false, 0
	if s.opts.FIX != nil {
		fixUp, fixSessions = s.opts.FIX.Listening(), s.opts.FIX.LoggedOn()
	}
	gauge("fxmatch_fix_listening", "1 while the FIX acceptor takes connections.", b2f(fixUp))
	gauge("fxmatch_fix_sessions_logged_on", "FIX sessions logged on (drop copies included).", float64(fixSessions))
	gauge("fxmatch_ws_clients", "WebSocket stream clients connected.", float64(o.wsClients.Load()))

	gauge("fxmatch_nats_configured", "1 when the venue has a NATS connection (embedded or --nats-url).", b2f(s.bus != nil))
	gauge("fxmatch_nats_connected", "1 while the NATS connection is up (0 also when there is none).", b2f(s.bus != nil && s.bus.IsConnected()))
	var dropped uint64
	if s.opts.BusDropped != nil {
		dropped = s.opts.BusDropped()
	}
	counter("fxmatch_nats_dropped_publishes_total", "Hub events the NATS publisher could not publish (connection down or its buffer full).", dropped)
	var reconnects uint64
	if s.bus != nil {
		reconnects = s.bus.Stats().Reconnects
	}
	counter("fxmatch_nats_reconnects_total", "NATS reconnections.", reconnects)

	counter("fxmatch_hub_laggards_total", "Hub subscribers (FIX sessions, streams, feeds) cut off for falling behind.", uint64(v.Hub().Lagged()))
	counter("fxmatch_metrics_feed_lost_total", "Times this metrics feed itself fell behind and was cut off (events in between are not counted).", o.feedLost.Load())
	counter("fxmatch_regulator_busy_total", "Regulator queries refused because another was running.", o.regBusy.Load())
	return d
}

package fixbench

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Mix is the order flow each session sends.
type Mix string

const (
	// MixCancel: Day limit orders that rest away from the market, each
	// cancelled (OrderCancelRequest) in the same write as the session's
	// next order; two messages per order, at most one resting order per
	// session.
	MixCancel Mix = "cancel"
	// MixIOC: IOC limit orders that cannot trade; the venue accepts and
	// cancels each at once. One message per order, an empty book.
	MixIOC Mix = "ioc"
)

// The orders' fixed fields. Buys and sells never cross each other, and
// both are inside the demo band (±2% around 7.1000) while USD/CNY's
// reference price stays within 0.7% of 7.1000.
const (
	benchSymbol    = "USD/CNY"
	benchBuyPrice  = "7.0500"
	benchSellPrice = "7.1500"
	benchQty       = "1000000"
)

// Options configures Run.
type Options struct {
	// Addr is the venue's FIX address (host:port).
	Addr string
	// Participants log on one session each (at most one session per
	// participant is allowed by the venue), all with Password.
	Participants []string
	Password     string
	// TLS, if not nil, connects over TLS.
	TLS *tls.Config
	// Rate is the offered rate in orders a second over all sessions, each
	// session sending Rate/len(Participants).
	Rate float64
	// Duration is the measured part of the schedule.
	Duration time.Duration
	// Warmup is a part of the schedule before Duration, at the same rate,
	// whose orders are sent but neither counted nor timed.
	Warmup time.Duration
	// Mix is the order flow (default MixCancel).
	Mix Mix
	// Drain bounds the wait for outstanding answers after the last order
	// was sent (default 5 s); what has no answer then is Missing.
	Drain time.Duration
	// RunID prefixes every ClOrdID, which must be unique per participant
	// and trading day (default: a base-36 clock reading, unique per run).
	RunID string
}

// Percentiles summarises a histogram in microseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

func summarize(h *hdrhistogram.Histogram) Percentiles {
	us := func(ns int64) float64 { return math.Round(float64(ns)/100) / 10 } // 0.1 µs
	return Percentiles{
		Count: h.TotalCount(),
		P50:   us(h.ValueAtQuantile(50)),
		P99:   us(h.ValueAtQuantile(99)),
		P999:  us(h.ValueAtQuantile(99.9)),
		Max:   us(h.Max()),
		Mean:  us(int64(h.Mean())),
	}
}

// Result is one run's outcome. Counts are of the measured orders (after
// the warmup); Sent = Acked + Rejected + Missing.
type Result struct {
	Sessions    int     `json:"sessions"`
	Mix         Mix     `json:"mix"`
	OfferedRate float64 `json:"offered_rate"`
	DurationS   float64 `json:"duration_s"`
	Sent        int64   `json:"sent"`
	Acked       int64   `json:"acked"`
	Rejected    int64   `json:"rejected"`
	Missing     int64   `json:"missing"`
	// RejectReasons counts rejects by OrdRejReason(103) and the keyword
	// (or start) of Text(58), e.g. "103=3 throttle".
	RejectReasons map[string]int64 `json:"reject_reasons,omitempty"`
	// Fills, Cancelled: ExecutionReports 150=F and 150=4 received (all
	// orders, warmup included); CancelRejects: OrderCancelRejects;
	// SessionRejects: Reject(3) and BusinessMessageReject(j), which mean
	// the generator sent something the venue did not take.
	// CancelRejectReasons counts OrderCancelRejects by CxlRejReason(102)
	// and Text(58)'s keyword.
	CancelRejectReasons map[string]int64 `json:"cancel_reject_reasons,omitempty"`
	Fills               int64            `json:"fills"`
	Cancelled           int64            `json:"cancelled"`
	CancelRejects       int64            `json:"cancel_rejects"`
	SessionRejects      int64            `json:"session_rejects"`
	FirstReject         string           `json:"first_session_reject,omitempty"`
	// Errors: sessions that ended before the run did (the venue
	// disconnected them, a write failed), "BANKA: why".
	Errors []string `json:"errors,omitempty"`
	// AchievedRate is acknowledgements a second: Acked over the time from
	// the first measured ack to the last plus one order interval, or the
	// schedule's length if that is longer. Both ends carry the latency, so
	// a steady latency cancels out and a venue that keeps up achieves the
	// offered rate; a growing backlog stretches the window; a backlog
	// drained in a burst at the end does not read as more than offered.
	AchievedRate float64 `json:"achieved_rate"`
	// Latency: intended send time → ExecutionReport 150=0 received, one
	// sample per acknowledged order.
	Latency Percentiles `json:"latency_us"`
	// SendLag: intended send time → the write that carried the order
	// returned; the generator's own lateness.
	SendLag Percentiles `json:"send_lag_us"`
	// Hist is Latency's histogram, in nanoseconds.
	Hist *hdrhistogram.Histogram `json:"-"`
}

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(5*time.Minute), 3)
}

// validate checks the options and fills in defaults.
func (o *Options) validate() error {
	switch {
	case o.Addr == "":
		return errors.New("fixbench: no venue address")
	case len(o.Participants) == 0:
		return errors.New("fixbench: no participants")
	case !(o.Rate > 0) || math.IsInf(o.Rate, 0) || o.Rate > 10_000_000:
		return fmt.Errorf("fixbench: rate %v: want more than 0 and at most 10000000 orders a second", o.Rate)
	case o.Duration <= 0 || o.Duration > 10*time.Minute:
		return fmt.Errorf("fixbench: duration %v: want more than 0 and at most 10m", o.Duration)
	case o.Warmup < 0 || o.Warmup > time.Minute:
		return fmt.Errorf("fixbench: warmup %v: want 0 to 1m", o.Warmup)
	}
	if o.Mix == "" {
		o.Mix = MixCancel
	}
	if o.Mix != MixCancel && o.Mix != MixIOC {
		return fmt.Errorf("fixbench: mix %q: want %q or %q", o.Mix, MixCancel, MixIOC)
	}
	if o.Drain <= 0 {
		o.Drain = 5 * time.Second
	}
	if o.RunID == "" {
		o.RunID = "B" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	if len(o.RunID) > 30 {
		return fmt.Errorf("fixbench: run id %q: at most 30 bytes", o.RunID)
	}
	if total := (o.Warmup + o.Duration).Seconds() * o.Rate; total > 200_000_000 {
		return fmt.Errorf("fixbench: %.0f orders in the schedule: at most 200000000", total)
	}
	return nil
}

// run is the shared state of one Run.
type run struct {
	o        Options
	n        int     // sessions
	interval float64 // ns between consecutive orders over all sessions
	total    int     // orders in the schedule, all sessions
	warm     int     // the first warm orders (by global index) are warmup
	start    time.Time
	sess     []*session
	stopping atomic.Bool
}

// intended is the intended send time of global order j, as an offset
// from start.
func (r *run) intended(j int) int64 { return int64(float64(j) * r.interval) }

// session is one participant's connection and what its reader saw.
type session struct {
	r    *run
	idx  int
	c    *Client
	sent int // orders sent (by the pacer; read after it ends)

	// Written by the reader goroutine only; read after it ended.
	answered                     []uint64 // bitmap by order index
	acked, rejected              int64
	fills, cancelled, cxlRejects int64
	sessRejects                  int64
	firstReject                  string
	reasons, cxlReasons          map[string]int64
	hist                         *hdrhistogram.Histogram
	firstAck, lastAck            int64 // offsets from start, of measured acks
	err                          error

	werr      error        // the pacer's write error
	dead      atomic.Bool  // the connection failed (reader or pacer)
	nAnswered atomic.Int64 // answered orders, for the drain wait
}

// Run runs one benchmark: logs every participant on, sends the schedule,
// waits for the answers (up to Drain), cancels what rests, logs out.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	r := &run{o: o, n: len(o.Participants), interval: 1e9 / o.Rate}
	r.total = int(math.Round((o.Warmup + o.Duration).Seconds() * o.Rate))
	r.warm = int(math.Round(o.Warmup.Seconds() * o.Rate))
	if r.total-r.warm < r.n {
		return nil, fmt.Errorf("fixbench: %v at %v orders a second is fewer than one order per session", o.Duration, o.Rate)
	}
	perSession := (r.total + r.n - 1) / r.n
	for i, p := range o.Participants {
		c, err := Dial(ctx, o.Addr, DialOptions{Sender: p, Password: o.Password, TLS: o.TLS})
		if err != nil {
			for _, s := range r.sess {
				s.c.Close()
			}
			return nil, err
		}
		r.sess = append(r.sess, &session{
			r: r, idx: i, c: c, answered: make([]uint64, (perSession+63)/64),
			reasons: map[string]int64{}, cxlReasons: map[string]int64{}, hist: newHist(), firstAck: math.MaxInt64, lastAck: -1,
		})
	}
	defer func() {
		for _, s := range r.sess {
			s.c.Close()
		}
	}()

	r.start = time.Now().Add(20 * time.Millisecond)
	var readers sync.WaitGroup
	for _, s := range r.sess {
		readers.Go(s.read)
	}
	lag, err := r.pace(ctx)
	if err == nil {
		r.drain(ctx)
	}
	// A session the venue disconnected is part of the result (its orders
	// without an answer are missing, the reason is in Errors), not the
	// end of the run: at a rate the venue cannot take, that is the answer.
	// The end: cancel what may rest, log out, and let the readers see the
	// venue's Logout (or the close).
	r.stopping.Store(true)
	for _, s := range r.sess {
		if s.dead.Load() {
			continue
		}
		if o.Mix == MixCancel && s.sent > 0 {
			var body []byte
			body = r.appendCancel(body, s.sent-1, time.Now())
			_ = s.c.Send("F", body)
		}
		_ = s.c.Send("5", nil)
	}
	done := make(chan struct{})
	go func() { readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		for _, s := range r.sess {
			s.c.Close()
		}
		<-done
	}
	if err != nil {
		return nil, err
	}
	return r.result(lag), nil
}

// pace sends the schedule. One goroutine paces every session, so that at
// most one core spins; orders that fall due together are written per
// session with one write.
func (r *run) pace(ctx context.Context) (*hdrhistogram.Histogram, error) {
	lag := newHist()
	type due struct {
		j        int
		intended int64
	}
	const maxBatch = 1024
	pending := make([]due, 0, maxBatch)
	batches := make([]Batch, r.n)
	open := make([]bool, r.n)
	var body []byte
	for j := 0; j < r.total; {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		now := time.Since(r.start)
		next := r.intended(j)
		if wait := next - int64(now); wait > 0 {
			waitUntil(r.start, next, wait)
			continue
		}
		// Everything due now, per session.
		ts := time.Now()
		pending = pending[:0]
		alive := 0
		for _, s := range r.sess {
			if !s.dead.Load() {
				alive++
			}
		}
		if alive == 0 {
			return lag, nil // every session is gone: nothing more can be sent
		}
		for j < r.total && len(pending) < maxBatch && r.intended(j) <= int64(now) {
			s := r.sess[j%r.n]
			k := j / r.n
			if s.dead.Load() {
				j++ // its slots go unsent
				continue
			}
			if !open[s.idx] {
				batches[s.idx] = s.c.Begin(ts)
				open[s.idx] = true
			}
			body = r.appendOrder(body[:0], k, ts)
			batches[s.idx].Add("D", body)
			if r.o.Mix == MixCancel && k > 0 {
				body = r.appendCancel(body[:0], k-1, ts)
				batches[s.idx].Add("F", body)
			}
			s.sent = k + 1
			pending = append(pending, due{j, r.intended(j)})
			j++
		}
		for i := range batches {
			if open[i] {
				s := r.sess[i]
				_ = s.c.Conn().SetWriteDeadline(time.Now().Add(10 * time.Second))
				if err := batches[i].Flush(); err != nil && s.werr == nil {
					s.werr = fmt.Errorf("write: %w", err)
					s.dead.Store(true)
				}
				open[i] = false
			}
		}
		written := int64(time.Since(r.start))
		for _, d := range pending {
			if d.j >= r.warm {
				_ = lag.RecordValue(max(written-d.intended, 1))
			}
		}
	}
	return lag, nil
}

// waitUntil waits until offset next from start, wait ns from now. Go's
// timers wake about a millisecond late on this kind of machine, far too
// coarse for orders 10 µs apart. So a long wait parks in time.Sleep up to
// 2 ms before the time (freeing the goroutine's P for the readers), a
// shorter one sleeps in nanosleep(2) (its thread blocks; typically
// 50 µs late, 100–150 µs at the 99th percentile) up to 100 µs before it,
// and the rest is spun, yielding to the readers. The spin is what the
// precision costs (it is CPU the venue on the same machine does not get),
// so it is kept short: an oversleep shows in the send lag, not hidden.
func waitUntil(start time.Time, next, wait int64) {
	const park, spin = 2_000_000, 100_000
	if wait > park {
		time.Sleep(time.Duration(wait - park))
		wait = next - int64(time.Since(start))
	}
	if wait > spin {
		ts := syscall.NsecToTimespec(wait - spin)
		_ = syscall.Nanosleep(&ts, nil)
	}
	for int64(time.Since(start)) < next {
		runtime.Gosched()
	}
}

// appendOrder encodes order k's NewOrderSingle body: even orders buy,
// odd ones sell.
func (r *run) appendOrder(b []byte, k int, now time.Time) []byte {
	b = append(b, "11="...)
	b = append(b, r.o.RunID...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(k), 10)
	b = append(b, SOH)
	b = AppendField(b, 55, benchSymbol)
	if k%2 == 0 {
		b = append(b, "54=1\x0144="+benchBuyPrice+"\x01"...)
	} else {
		b = append(b, "54=2\x0144="+benchSellPrice+"\x01"...)
	}
	b = append(b, "38="+benchQty+"\x0140=2\x01"...)
	if r.o.Mix == MixIOC {
		b = append(b, "59=3\x01"...)
	} else {
		b = append(b, "59=0\x01"...)
	}
	b = append(b, "60="...)
	b = AppendTimestamp(b, now)
	return append(b, SOH)
}

// appendCancel encodes the OrderCancelRequest body for order k.
func (r *run) appendCancel(b []byte, k int, now time.Time) []byte {
	b = append(b, "11="...)
	b = append(b, r.o.RunID...)
	b = append(b, 'x')
	b = strconv.AppendInt(b, int64(k), 10)
	b = append(b, SOH, '4', '1', '=')
	b = append(b, r.o.RunID...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(k), 10)
	b = append(b, SOH)
	b = AppendField(b, 55, benchSymbol)
	if k%2 == 0 {
		b = append(b, "54=1\x01"...)
	} else {
		b = append(b, "54=2\x01"...)
	}
	b = append(b, "60="...)
	b = AppendTimestamp(b, now)
	return append(b, SOH)
}

// orderIndex parses ClOrdID "<RunID>-<k>" into k; false for anything
// else (cancels, other runs' orders).
func (r *run) orderIndex(id []byte) (int, bool) {
	p := r.o.RunID
	if len(id) <= len(p)+1 || string(id[:len(p)]) != p || id[len(p)] != '-' {
		return 0, false
	}
	k := atoi(id[len(p)+1:])
	return k, k >= 0
}

// drain waits until every session has an answer for every order it sent,
// or Drain has passed.
func (r *run) drain(ctx context.Context) {
	deadline := time.Now().Add(r.o.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		all := true
		for _, s := range r.sess {
			if !s.dead.Load() && s.nAnswered.Load() < int64(s.sent) {
				all = false
				break
			}
		}
		if all {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// read is a session's reader goroutine.
func (s *session) read() {
	r := s.r
	for {
		m, err := s.c.Next()
		if err != nil {
			if !r.stopping.Load() {
				if errors.Is(err, io.EOF) {
					err = errors.New("the venue closed the connection without a Logout")
				}
				s.err = err
			}
			s.dead.Store(true)
			return
		}
		now := int64(time.Since(r.start))
		var typ, execType, clOrdID, rejCode, cxlCode, text []byte
		for tag, v := range m.Fields() {
			switch tag {
			case 35:
				typ = v
			case 150:
				execType = v
			case 11:
				clOrdID = v
			case 103:
				rejCode = v
			case 102:
				cxlCode = v
			case 58:
				text = v
			}
		}
		if len(typ) != 1 {
			continue
		}
		switch typ[0] {
		case '8':
			if len(execType) != 1 {
				continue
			}
			switch execType[0] {
			case 'F':
				s.fills++
				continue
			case '4':
				s.cancelled++
				continue
			case '0', '8':
			default:
				continue
			}
			k, ok := r.orderIndex(clOrdID)
			if !ok || k/64 >= len(s.answered) || s.answered[k/64]&(1<<(k%64)) != 0 {
				continue
			}
			s.answered[k/64] |= 1 << (k % 64)
			s.nAnswered.Add(1)
			j := k*r.n + s.idx
			if j < r.warm {
				continue
			}
			if execType[0] == '0' {
				s.acked++
				_ = s.hist.RecordValue(max(now-r.intended(j), 1))
				s.lastAck = max(s.lastAck, now)
				s.firstAck = min(s.firstAck, now)
			} else {
				s.rejected++
				if len(s.reasons) < 32 {
					s.reasons["103="+string(rejCode)+" "+keyword(text)]++
				} else {
					s.reasons["other"]++
				}
			}
		case '9':
			s.cxlRejects++
			if len(s.cxlReasons) < 32 {
				s.cxlReasons["102="+string(cxlCode)+" "+keyword(text)]++
			}
		case '3', 'j':
			s.sessRejects++
			if s.firstReject == "" {
				s.firstReject = m.String()
			}
		case '5':
			if !r.stopping.Load() {
				s.err = fmt.Errorf("the venue logged the session out: %s", text)
			}
			s.dead.Store(true)
			return
		}
	}
}

// keyword is Text(58)'s keyword (before the first ':'), or, without one,
// its words up to the first quoted value (which would make every reject
// of a kind a key of its own), at most 40 bytes.
func keyword(text []byte) string {
	for i, c := range text {
		if c == ':' && i < 24 {
			return string(text[:i])
		}
		if c == '"' {
			text = bytes.TrimSpace(text[:i])
			break
		}
	}
	if len(text) > 40 {
		text = text[:40]
	}
	return string(text)
}

func (r *run) result(lag *hdrhistogram.Histogram) *Result {
	res := &Result{
		Sessions: r.n, Mix: r.o.Mix, OfferedRate: r.o.Rate, DurationS: r.o.Duration.Seconds(),
		RejectReasons: map[string]int64{}, CancelRejectReasons: map[string]int64{}, Hist: newHist(),
	}
	firstAck, lastAck := int64(math.MaxInt64), int64(-1)
	for _, s := range r.sess {
		// Orders sent in the measured part: global indexes ≥ warm.
		for k := 0; k < s.sent; k++ {
			if k*r.n+s.idx >= r.warm {
				res.Sent++
			}
		}
		res.Acked += s.acked
		res.Rejected += s.rejected
		res.Fills += s.fills
		res.Cancelled += s.cancelled
		res.CancelRejects += s.cxlRejects
		res.SessionRejects += s.sessRejects
		if res.FirstReject == "" {
			res.FirstReject = s.firstReject
		}
		for k, n := range s.reasons {
			res.RejectReasons[k] += n
		}
		for k, n := range s.cxlReasons {
			res.CancelRejectReasons[k] += n
		}
		res.Hist.Merge(s.hist)
		lastAck = max(lastAck, s.lastAck)
		firstAck = min(firstAck, s.firstAck)
		for _, err := range []error{s.werr, s.err} {
			if err != nil {
				res.Errors = append(res.Errors, s.c.Sender()+": "+err.Error())
			}
		}
	}
	res.Missing = res.Sent - res.Acked - res.Rejected
	if res.Acked > 0 {
		window := max(float64(lastAck-firstAck)/1e9+r.interval/1e9, r.o.Duration.Seconds())
		res.AchievedRate = math.Round(float64(res.Acked) / window)
	}
	res.Latency = summarize(res.Hist)
	res.SendLag = summarize(lag)
	if len(res.RejectReasons) == 0 {
		res.RejectReasons = nil
	}
	if len(res.CancelRejectReasons) == 0 {
		res.CancelRejectReasons = nil
	}
	return res
}

package fixbench

import (
	"bufio"
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
	// Tick is the least time between two of the pacer's wake-ups
	// (default 100 µs, at most 10 ms): above one order a tick, the
	// orders of a tick go out together, up to a tick late (the send lag
	// shows how late). A wake-up costs CPU; see pacer.
	Tick time.Duration
	// MaxSpin bounds how early the pacer wakes before an order to spin
	// until it is due (default 200 µs, 0 to only sleep, -1 in Options
	// for 0 as the zero value means the default). The pacer wakes early
	// by its median oversleep, so about half its wake-ups spin: less
	// send lag for more CPU.
	MaxSpin time.Duration
	// Busy makes the pacer never sleep: it spins between orders, and
	// sends each on time to within the clock's reading, at the price of
	// a whole CPU. With the generator pinned to a CPU of its own (bench
	// fix --pin) that CPU is the generator's anyway, and the send lag —
	// which counts in the latency, taken from the intended send time —
	// is the generator's no more. Tick and MaxSpin then do not matter
	// below one order a tick.
	Busy bool
	// LatencyLog, if not nil, gets every order of the schedule, warmup
	// included, as CSV once the run has ended (see writeLatencyLog): to
	// see when the slow orders were, not only how many (a stall shows as
	// a run of late orders at one moment, a slow path as late orders all
	// along). It costs 16 bytes of memory an order.
	LatencyLog io.Writer
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
	// Latency: intended send time → ExecutionReport 150=0 received (the
	// kernel's receive time for a polled session, see pacer), one sample
	// per acknowledged order.
	Latency Percentiles `json:"latency_us"`
	// SendLag: intended send time → the write that carried the order
	// returned; the generator's own lateness.
	SendLag Percentiles `json:"send_lag_us"`
	// PacerWakes is how often the pacer woke from a sleep, Writes how
	// many writes carried orders (all orders, warmup included): what
	// the generator's CPU per order is made of.
	PacerWakes int64 `json:"pacer_wakes"`
	Writes     int64 `json:"writes"`
	// Hist is Latency's histogram, in nanoseconds.
	Hist *hdrhistogram.Histogram `json:"-"`
}

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(5*time.Minute), 3)
}

// Defaults of Options.Tick and Options.MaxSpin.
const (
	DefaultTick    = 100 * time.Microsecond
	DefaultMaxSpin = 200 * time.Microsecond
)

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
	if o.Tick == 0 {
		o.Tick = DefaultTick
	}
	if o.Tick < 0 || o.Tick > 10*time.Millisecond {
		return fmt.Errorf("fixbench: tick %v: want more than 0 and at most 10ms", o.Tick)
	}
	switch {
	case o.MaxSpin == 0:
		o.MaxSpin = DefaultMaxSpin
	case o.MaxSpin < 0:
		o.MaxSpin = 0
	case o.MaxSpin > time.Millisecond:
		return fmt.Errorf("fixbench: max spin %v: want at most 1ms", o.MaxSpin)
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
	wakes    int64 // the pacer's, once it ended
	// With Options.LatencyLog, by global order index: the send lag and
	// the latency of its 150=0 (0: none), in ns. Each index is written by
	// one goroutine (the pacer; its session's reader) and read once the
	// run has ended.
	lagOf, latOf []int64
}

// intended is the intended send time of global order j, as an offset
// from start.
func (r *run) intended(j int) int64 { return int64(float64(j) * r.interval) }

// session is one participant's connection and what its reader saw.
type session struct {
	r    *run
	idx  int
	c    *Client
	tpl  *sessionTemplates
	sent int // orders sent (by the pacer; read after it ends)

	// The pacer's: when to renew the write deadline, writes made.
	renewAt time.Time
	writes  int64

	// polled: the client is detached and the pacer reads it (no reader
	// goroutine); ended: it saw the session end. testReq is a
	// TestRequest's TestReqID to answer once the pacer is not amid a
	// write, testReqDue whether one waits.
	polled, ended bool
	testReq       []byte
	testReqDue    bool

	// Written by the reader (the reader goroutine or, polled, the
	// pacer) only; read after it ended.
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

// detachSessions is false only in a test of the reader goroutines, which
// otherwise serve TLS sessions only.
var detachSessions = true

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
			r: r, idx: i, c: c, tpl: newSessionTemplates(p, o.RunID, o.Mix), answered: make([]uint64, (perSession+63)/64),
			reasons: map[string]int64{}, cxlReasons: map[string]int64{}, hist: newHist(), firstAck: math.MaxInt64, lastAck: -1,
		})
	}
	defer func() {
		for _, s := range r.sess {
			s.c.Close()
		}
	}()

	// Detach every session that can be (plain TCP, Linux): the pacer
	// reads it too, and no reader goroutine wakes per report. See pacer.
	for _, s := range r.sess {
		s.polled = detachSessions && s.c.detach() == nil
	}

	if o.LatencyLog != nil {
		r.lagOf, r.latOf = make([]int64, r.total), make([]int64, r.total)
	}
	r.start = time.Now().Add(20 * time.Millisecond)
	var readers sync.WaitGroup
	for _, s := range r.sess {
		if !s.polled {
			readers.Go(s.read)
		}
	}
	lag, err := r.pace(ctx, &readers)
	if err != nil {
		return nil, err
	}
	if o.LatencyLog != nil {
		if err := r.writeLatencyLog(o.LatencyLog); err != nil {
			return nil, fmt.Errorf("fixbench: latency log: %w", err)
		}
	}
	return r.result(lag), nil
}

// writeLatencyLog writes the orders of the schedule as CSV, one line per
// order in the order of their intended send times: its global index, its
// session's participant, whether it was warmup, its intended send time
// (µs from the run's start), how late the pacer sent it (µs; empty if it
// was not sent), and its latency (µs, from the intended send time to the
// 150=0's arrival, as in the histogram; empty without a 150=0: rejected or
// missing). The venue's own share of an order's latency is latency minus
// lag.
func (r *run) writeLatencyLog(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString("order,session,warmup,intended_us,lag_us,latency_us\n")
	var b []byte
	for j := range r.total {
		s := r.sess[j%r.n]
		b = strconv.AppendInt(b[:0], int64(j), 10)
		b = append(b, ',')
		b = append(b, s.c.Sender()...)
		b = append(b, ',')
		b = strconv.AppendBool(b, j < r.warm)
		b = append(b, ',')
		b = strconv.AppendFloat(b, float64(r.intended(j))/1e3, 'f', 1, 64)
		b = append(b, ',')
		if j/r.n < s.sent {
			b = strconv.AppendFloat(b, float64(r.lagOf[j])/1e3, 'f', 1, 64)
		}
		b = append(b, ',')
		if r.latOf[j] > 0 {
			b = strconv.AppendFloat(b, float64(r.latOf[j])/1e3, 'f', 1, 64)
		}
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// pace runs the pacer on a goroutine locked to an OS thread of its own:
// it sends the schedule, waits for the answers (up to Drain), cancels what
// rests and logs out; readers are the reader goroutines of the sessions it
// does not poll.
func (r *run) pace(ctx context.Context, readers *sync.WaitGroup) (*hdrhistogram.Histogram, error) {
	type outcome struct {
		lag *hdrhistogram.Histogram
		err error
	}
	ch := make(chan outcome, 1)
	go func() {
		// Never unlocked: the thread, with the timer slack set on it,
		// ends with this goroutine instead of going back to the runtime.
		runtime.LockOSThread()
		preparePacerThread()
		p := pacer{r: r, tick: int64(r.o.Tick), maxSpin: int64(r.o.MaxSpin), busy: r.o.Busy}
		lag, err := p.schedule(ctx)
		if err == nil {
			p.drain(ctx)
		}
		p.finish(readers)
		r.wakes = p.wakes
		ch <- outcome{lag, err}
	}()
	o := <-ch
	return o.lag, o.err
}

// pacer sends every session's orders on the schedule, without spinning a
// core to do it: it sleeps until an order is due, wakes, and writes every
// order then due, each session's with one write(2). Then it reads what
// the venue sent.
//
// It reads, too, because a reader goroutine parked in the runtime's
// network poller costs a wake-up per report the venue writes (an epoll
// return, a read, a read that finds nothing, the scheduler) — on this
// machine more than the write of the order it answers. The pacer is
// awake anyway, once per tick at most: after its writes it takes in
// whatever each socket holds, without blocking. The latency is not
// stretched by when it looks: every read returns the time the kernel
// received its newest bytes (SO_TIMESTAMPNS), and that, not the time of
// the read, is the report's arrival. Reports that queue up together are
// timed by the last of them to arrive, so a batch is never timed early;
// at 10,000 orders/s and one tick of 100 µs a read holds the reports of
// one order. A session the pacer cannot read this way (TLS, not Linux)
// keeps a reader goroutine, timed when its read returns.
//
// A wake-up is the expensive part on this kind of machine (a virtual
// one: about 20 µs of CPU per timer wake-up, and it comes some 50 µs late
// even with the timer slack at 1 ns), so the pacer
//   - wakes at most once a tick (Options.Tick): at rates above one order
//     a tick, the orders of a tick go out together, up to a tick late;
//   - wakes early for an order by its estimate of how late a sleep ends
//     (the median of the recent oversleeps, at most Options.MaxSpin), and
//     spins the rest: about half the wake-ups come early and spin, the
//     others come late, by less than a whole oversleep. It does not for
//     a tick boundary (rates above one order a tick), whose orders are
//     late by part of a tick already.
//
// It never sends an order before its intended time (that would flatter
// the latency, which is measured from the intended time), and however
// late it sends, the send lag shows it.
type pacer struct {
	r    *run
	tick int64 // ns, at least this between wake targets
	// early is the current estimate, in ns, of how late a sleep ends, at
	// most maxSpin.
	early, maxSpin int64
	// busy: never sleep (Options.Busy).
	busy  bool
	wakes int64
	in    inbound
	// waitWrite is p.waitWritable as a func value, made once; pfds its
	// poll(2) set.
	waitWrite func(fd int)
	pfds      []pollFD
}

// waitWritable blocks while a polled session's socket fd is full (the
// venue is not reading it) until it is writable or another polled
// session has something to read, which it then reads: a pacer stuck on
// one session still takes in every session's reports (a venue that
// cannot write them might stop reading), and costs no CPU while it
// waits.
func (p *pacer) waitWritable(fd int) {
	p.pfds = append(p.pfds[:0], pollFD{fd: int32(fd), events: pollOut})
	for _, s := range p.r.sess {
		if s.polled && !s.ended {
			p.pfds = append(p.pfds, pollFD{fd: int32(s.c.fd), events: pollIn})
		}
	}
	waitFDs(p.pfds)
	p.wakes++
	p.pollAll()
}

// The pacer's estimate of its oversleep moves by earlyStep per sleep; it
// stays within Options.MaxSpin (the most it spins per wake-up).
const earlyStep = 500

// sleepUntil returns at offset next from the run's start, or at once if
// that has passed; with spin, it wakes early and spins the rest.
func (p *pacer) sleepUntil(ctx context.Context, next int64, spin bool) error {
	start := p.r.start
	if p.busy {
		// Spin; every 10 ms, as a sleeping pacer does, see ctx and what
		// the venue sent.
		for check := int64(time.Since(start)) + 10_000_000; ; {
			now := int64(time.Since(start))
			if now >= next {
				return nil
			}
			if now >= check {
				p.pollAll()
				p.answerTestRequests()
				if err := ctx.Err(); err != nil {
					return err
				}
				check = now + 10_000_000
			}
		}
	}
	for {
		now := int64(time.Since(start))
		wait := next - now
		if wait <= 0 {
			return nil
		}
		early := p.early
		if !spin {
			early = 0
		}
		if wait <= early {
			// The rest is shorter than a sleep would overshoot it:
			// spin, bounded by maxSpin.
			for int64(time.Since(start)) < next {
			}
			return nil
		}
		// At least every 10 ms, see ctx and what the venue sent (the
		// sessions' TestRequests want an answer).
		d := min(wait-early, 10_000_000)
		nanosleep(d)
		p.wakes++
		if d == 10_000_000 {
			p.pollAll()
			p.answerTestRequests()
		}
		if d < 1_000_000 {
			// Track the median oversleep of the short sleeps, which the
			// pacer makes at high rates: up a step when a sleep overshot
			// the estimate, down one when it did not.
			if over := int64(time.Since(start)) - (now + d); over > p.early {
				p.early = min(p.early+earlyStep, p.maxSpin)
			} else {
				p.early = max(p.early-earlyStep, 0)
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// maxBatch bounds the orders one wake-up sends (over all sessions); a
// pacer behind by more sends the rest at once, without sleeping.
const maxBatch = 1024

// schedule sends the schedule.
func (p *pacer) schedule(ctx context.Context) (*hdrhistogram.Histogram, error) {
	r := p.r
	lag := newHist()
	p.waitWrite = p.waitWritable
	var pending [maxBatch]int // global indexes sent by this wake-up
	open := make([]bool, r.n)
	var ts stamp
	target := int64(math.MinInt64 / 2)
	full := false
	for j := 0; j < r.total; {
		if !full {
			// Spin for an order's own time only: a target the tick set
			// (the rate is above one order a tick) is a tick boundary,
			// its orders already late; spinning for it would cost a
			// spin per tick to shave a little off a lag the tick
			// dominates.
			due := r.intended(j)
			target = max(due, target+p.tick)
			if err := p.sleepUntil(ctx, target, due == target); err != nil {
				return nil, err
			}
		} else if err := ctx.Err(); err != nil {
			return nil, err
		}
		alive := 0
		for _, s := range r.sess {
			if !s.dead.Load() {
				alive++
			}
		}
		if alive == 0 {
			return lag, nil // every session is gone: nothing more can be sent
		}
		now := time.Now()
		due := int64(now.Sub(r.start))
		ts.set(now)
		n := 0
		for j < r.total && n < maxBatch && r.intended(j) <= due {
			s := r.sess[j%r.n]
			k := j / r.n
			j++
			if s.dead.Load() {
				continue // its slots go unsent
			}
			c := s.c
			if !open[s.idx] {
				c.mu.Lock()
				c.wbuf = c.wbuf[:0]
				open[s.idx] = true
			}
			c.seq++
			c.wbuf = s.tpl.order[k%2].append(c.wbuf, c.seq, k, &ts)
			if r.o.Mix == MixCancel && k > 0 {
				c.seq++
				c.wbuf = s.tpl.cancel[(k-1)%2].append(c.wbuf, c.seq, k-1, &ts)
			}
			s.sent = k + 1
			pending[n] = j - 1
			n++
		}
		full = n == maxBatch
		for i, ok := range open {
			if !ok {
				continue
			}
			open[i] = false
			s := r.sess[i]
			err := s.write(now, p.waitWrite)
			s.c.mu.Unlock()
			if err != nil && s.werr == nil {
				s.werr = fmt.Errorf("write: %w", err)
				s.dead.Store(true)
			}
		}
		written := int64(time.Since(r.start))
		for _, j := range pending[:n] {
			if r.lagOf != nil {
				r.lagOf[j] = max(written-r.intended(j), 0)
			}
			if j >= r.warm {
				_ = lag.RecordValue(max(written-r.intended(j), 1))
			}
		}
		p.pollAll()
		p.answerTestRequests()
	}
	return lag, nil
}

// pollAll takes in what the venue sent every polled session.
func (p *pacer) pollAll() {
	for _, s := range p.r.sess {
		if s.polled && !s.ended {
			p.poll(s)
		}
	}
}

// poll takes in every whole message a polled session's socket holds. A
// TestRequest's answer waits for answerTestRequests: poll may run amid a
// write of the same session (a full socket), where a message of its own
// would land inside the one being written.
func (p *pacer) poll(s *session) {
	r := p.r
	c := s.c
	c.fdr.rearm()
	var now int64 // when the first read returned, from start
	// base turns the kernel's wall-clock stamps into time since start:
	// taken afresh each poll, so that a step of the wall clock since the
	// run began (NTP) does not shift every later stamp.
	t := time.Now()
	base := t.UnixNano() - int64(t.Sub(r.start))
	for {
		m, err := c.r.Next()
		if err == errWouldBlock {
			return
		}
		if err != nil {
			s.readFailed(err)
			s.ended = true
			return
		}
		if now == 0 {
			now = int64(time.Since(r.start))
		}
		// The kernel's receive time, or the read's own if there is none.
		// A stamp later than now came from a read after the first (a
		// poll may read more than once): take the clock again, after
		// that read, and bound the stamp by it — never by an earlier
		// time, which would make the latency look shorter than it was.
		var at int64
		if c.fdr.at == 0 {
			at = int64(time.Since(r.start))
		} else if at = c.fdr.at - base; at > now {
			now = int64(time.Since(r.start))
			at = min(at, now)
		}
		p.in.scan(m)
		if len(p.in.typ) == 1 && p.in.typ[0] == '1' {
			id, _ := m.Get(112)
			s.testReq = append(s.testReq[:0], id...)
			s.testReqDue = true
		}
		if !s.handle(m, at, &p.in) {
			s.ended = true
			return
		}
	}
}

// answerTestRequests answers the TestRequests poll saw with Heartbeats.
func (p *pacer) answerTestRequests() {
	for _, s := range p.r.sess {
		if s.testReqDue {
			s.testReqDue = false
			if !s.ended {
				_ = s.c.Send("0", AppendFieldBytes(nil, 112, s.testReq))
			}
		}
	}
}

// drain waits until every session has an answer for every order it sent,
// or Drain has passed, polling the polled sessions: every tick at first,
// then less often while nothing comes (up to every 2 ms: a report's
// arrival time is the kernel's, not the poll's).
func (p *pacer) drain(ctx context.Context) {
	r := p.r
	deadline := time.Now().Add(r.o.Drain)
	every := p.tick
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
		nanosleep(every)
		p.wakes++
		before := p.answered()
		p.pollAll()
		p.answerTestRequests()
		if p.answered() == before {
			every = min(2*every, 2_000_000)
		} else {
			every = p.tick
		}
	}
}

func (p *pacer) answered() (n int64) {
	for _, s := range p.r.sess {
		n += s.nAnswered.Load()
	}
	return n
}

// finish cancels what may rest, logs every session out, and waits (up to
// 5 s) until each has seen the venue's Logout or the connection close:
// polling the polled sessions, waiting for the others' reader goroutines.
//
// A session the venue disconnected is part of the result (its orders
// without an answer are missing, the reason is in Errors), not the end of
// the run: at a rate the venue cannot take, that is the answer.
func (p *pacer) finish(readers *sync.WaitGroup) {
	r := p.r
	r.stopping.Store(true)
	for _, s := range r.sess {
		if s.dead.Load() {
			continue
		}
		if r.o.Mix == MixCancel && s.sent > 0 {
			_ = s.c.Send("F", r.appendCancel(nil, s.sent-1, time.Now()))
		}
		_ = s.c.Send("5", nil)
	}
	done := make(chan struct{})
	go func() { readers.Wait(); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.pollAll()
		polledEnded := true
		for _, s := range r.sess {
			if s.polled && !s.ended {
				polledEnded = false
			}
		}
		select {
		case <-done:
			if polledEnded {
				return
			}
		default:
		}
		if time.Now().After(deadline) {
			for _, s := range r.sess {
				s.c.Close()
			}
			<-done
			return
		}
		nanosleep(1_000_000)
	}
}

// write writes the session's send buffer (its send side locked by the
// caller); wait is called while a polled session's socket is full. A
// connection's write deadline, which ends a session whose venue stopped
// reading (writeFD has its own), is renewed once a second rather than on
// every write: setting it costs a timer update.
func (s *session) write(now time.Time, wait func(fd int)) error {
	s.writes++
	if s.polled {
		return s.c.write(s.c.wbuf, wait)
	}
	if now.After(s.renewAt) {
		_ = s.c.conn.SetWriteDeadline(now.Add(10 * time.Second))
		s.renewAt = now.Add(time.Second)
	}
	_, err := s.c.conn.Write(s.c.wbuf)
	return err
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

// read is a session's reader goroutine.
func (s *session) read() {
	var in inbound
	for {
		m, err := s.c.Next()
		if err != nil {
			s.readFailed(err)
			return
		}
		in.scan(m)
		if !s.handle(m, int64(time.Since(s.r.start)), &in) {
			return
		}
	}
}

// readFailed records why the session's reads ended (unless the run is
// ending, when the venue closing the connection is expected).
func (s *session) readFailed(err error) {
	if !s.r.stopping.Load() {
		if errors.Is(err, io.EOF) {
			err = errors.New("the venue closed the connection without a Logout")
		}
		s.err = err
	}
	s.dead.Store(true)
}

// handle takes in one message from the venue, received at now (from the
// run's start), whose fields in holds; false when it ends the session (a
// Logout).
func (s *session) handle(m Message, now int64, in *inbound) bool {
	r := s.r
	typ, execType, clOrdID, rejCode, cxlCode, text := in.typ, in.execType, in.clOrdID, in.rejCode, in.cxlCode, in.text
	if len(typ) != 1 {
		return true
	}
	switch typ[0] {
	case '8':
		if len(execType) != 1 {
			return true
		}
		switch execType[0] {
		case 'F':
			s.fills++
			return true
		case '4':
			s.cancelled++
			return true
		case '0', '8':
		default:
			return true
		}
		k, ok := r.orderIndex(clOrdID)
		if !ok || k/64 >= len(s.answered) || s.answered[k/64]&(1<<(k%64)) != 0 {
			return true
		}
		s.answered[k/64] |= 1 << (k % 64)
		s.nAnswered.Add(1)
		j := k*r.n + s.idx
		if r.latOf != nil && execType[0] == '0' {
			r.latOf[j] = max(now-r.intended(j), 1)
		}
		if j < r.warm {
			return true
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
		return false
	}
	return true
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
		res.Writes += s.writes
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
	res.PacerWakes = r.wakes
	if len(res.RejectReasons) == 0 {
		res.RejectReasons = nil
	}
	if len(res.CancelRejectReasons) == 0 {
		res.CancelRejectReasons = nil
	}
	return res
}

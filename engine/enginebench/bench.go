package enginebench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"fxmatch/engine"
	"fxmatch/engine/shard"
)

// Options of a benchmark run.
type Options struct {
	Params
	// RingCapacity is the capacity of the ring and of the channel
	// (default 4096); MaxBatch the shard's batch bound (default 256).
	RingCapacity int
	MaxBatch     int
	// Repeat is how many times each throughput figure is measured, on a
	// fresh engine each time; the best run is reported (default 3 for the
	// matching core, 2 for each input). The best, not the mean, because
	// on a shared machine every disturbance only ever makes a run slower.
	Repeat int
	// PacedSec bounds the duration of each paced run (default 1.5s).
	PacedSec float64
	// Progress, if set, receives a line as each phase starts.
	Progress io.Writer
}

// Latency is a latency distribution in nanoseconds.
type Latency struct {
	P50  int64 `json:"p50_ns"`
	P99  int64 `json:"p99_ns"`
	P999 int64 `json:"p999_ns"`
	Max  int64 `json:"max_ns"`
}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	return Latency{
		P50: h.ValueAtQuantile(50), P99: h.ValueAtQuantile(99),
		P999: h.ValueAtQuantile(99.9), Max: h.Max(),
	}
}

// Workload describes what was run.
type Workload struct {
	Orders       int      `json:"orders"`
	Seed         uint64   `json:"seed"`
	Participants int      `json:"participants"`
	Instruments  []string `json:"instruments"`
	CreditLines  int      `json:"credit_lines"`
	LiveTarget   int      `json:"live_target"`
	Sigma        float64  `json:"sigma_ticks"`
	TailAlpha    float64  `json:"tail_alpha"`
	// Shares of the messages actually generated.
	NewRestingFrac float64 `json:"new_resting_frac"`
	IOCFrac        float64 `json:"ioc_frac"`
	ReplaceFrac    float64 `json:"replace_frac"`
	CancelFrac     float64 `json:"cancel_frac"`
	// IOCShareOfNew is the IOC/FOK/market share of new orders.
	IOCShareOfNew float64 `json:"ioc_share_of_new_orders"`
	// What the engine made of it.
	Events          int     `json:"events"`
	EventsPerMsg    float64 `json:"events_per_msg"`
	Trades          int     `json:"trades"`
	Rejects         int     `json:"rejects"`
	CancelRejects   int     `json:"cancel_rejects"`
	TooLate         int     `json:"too_late"`
	CancelledByUser int     `json:"cancelled_by_request"`
	// Of the limit orders that were accepted to rest (Day, GTC), the share
	// that left the book with no fill at all (cancelled, or still resting
	// at the end), and the share that traded at least once.
	RestingAccepted    int     `json:"resting_accepted"`
	RestingNeverFilled float64 `json:"resting_never_filled_frac"`
	RestingTraded      float64 `json:"resting_traded_frac"`
	LiveOrdersEnd      int     `json:"live_orders_end"`
	LevelsEnd          int     `json:"levels_end"`
	GenerateSec        float64 `json:"generate_sec"`
}

// Pipeline is the workload through a shard fed by one Input.
type Pipeline struct {
	Input    string `json:"input"`
	Capacity int    `json:"capacity"`
	MaxBatch int    `json:"max_batch"`
	// MsgsPerSec is the best of Runs: the whole workload offered by one
	// producer goroutine as fast as the input takes it, to the shard
	// having applied and delivered all of it.
	MsgsPerSec float64   `json:"msgs_per_sec"`
	Runs       []float64 `json:"msgs_per_sec_runs"`
	AvgBatch   float64   `json:"avg_batch"`
	// Saturated is offer->applied latency in the best run: the input is
	// full, so it is mostly time spent queued (capacity / throughput).
	Saturated Latency `json:"saturated_latency"`
	// Paced: PacedMsgs offered at PacedRate (the same for both inputs),
	// latency measured from the instant each command was due, so a stalled
	// producer is not hidden (no coordinated omission).
	PacedRate float64 `json:"paced_rate"`
	PacedMsgs int     `json:"paced_msgs"`
	Paced     Latency `json:"paced_latency"`
	// TransportMsgsPerSec is the input alone: one producer, one consumer
	// that discards what it polls (no engine).
	TransportMsgsPerSec float64 `json:"transport_msgs_per_sec"`
}

// Report is the result of Run. The top-level fields are the matching
// core's.
type Report struct {
	Benchmark  string `json:"benchmark"`
	GoVersion  string `json:"go_version"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	NumCPU     int    `json:"num_cpu"`
	// LoadAverage is the machine's 1-minute load average when the run
	// started (Linux; -1 elsewhere): other processes' CPU use shows in the
	// tails of every latency figure and in the spread of the runs.
	LoadAverage float64 `json:"load_average_at_start"`

	MsgsPerSec     float64   `json:"msgs_per_sec"`
	MsgsPerSecRuns []float64 `json:"msgs_per_sec_runs"`
	NsPerMsg       float64   `json:"ns_per_msg"`
	Latency
	LatencyNote     string   `json:"latency_note"`
	ClockOverheadNs float64  `json:"clock_overhead_ns"`
	AllocsPerMsg    float64  `json:"allocs_per_msg"`
	BytesPerMsg     float64  `json:"bytes_per_msg"`
	EngineSetupSec  float64  `json:"engine_setup_sec"`
	Workload        Workload `json:"workload"`
	Ring            Pipeline `json:"ring"`
	Chan            Pipeline `json:"chan"`
	// RingVsChan is the ratio of the end-to-end throughputs (ring /
	// channel: above 1, the ring is faster), RingVsChanTransport the same
	// for the inputs alone; the latency ratios are ring / channel of the
	// paced latencies (below 1, the ring is faster).
	RingVsChan           float64 `json:"ring_vs_chan"`
	RingVsChanTransport  float64 `json:"ring_vs_chan_transport"`
	RingLatencyVsChanP50 float64 `json:"ring_latency_vs_chan_paced_p50"`
	RingLatencyVsChanP99 float64 `json:"ring_latency_vs_chan_paced_p99"`
	ElapsedSec           float64 `json:"elapsed_sec"`
}

const latencyNote = "per-message latency comes from timing each Apply separately, so it includes the clock reads (clock_overhead_ns); msgs_per_sec comes from untimed passes (best of msgs_per_sec_runs)"

func (o *Options) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// Run generates the workload and measures it: (a) the matching core, (b)
// through a shard fed by the ring, (c) the same fed by the channel input.
func Run(o Options) (*Report, error) {
	start := time.Now()
	o.Params = o.Params.withDefaults()
	if o.RingCapacity == 0 {
		o.RingCapacity = 4096
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 256
	}
	coreRuns, pipeRuns := 3, 2
	if o.Repeat > 0 {
		coreRuns, pipeRuns = o.Repeat, o.Repeat
	}
	if o.PacedSec <= 0 {
		o.PacedSec = 1.5
	}
	p := o.Params
	rep := &Report{
		Benchmark: "engine", GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		NumCPU: runtime.NumCPU(), LoadAverage: loadAverage(), LatencyNote: latencyNote,
	}

	o.progress("generating %d messages (seed %d)", p.Orders, p.Seed)
	t := time.Now()
	cmds, mix := Generate(p)
	cfg := Config(p)
	w := &rep.Workload
	*w = Workload{
		Orders: p.Orders, Seed: p.Seed, Participants: p.Participants, CreditLines: len(cfg.CreditLines),
		LiveTarget: p.LiveTarget, Sigma: p.Sigma, TailAlpha: p.TailAlpha,
		NewRestingFrac: float64(mix.NewResting) / float64(p.Orders),
		IOCFrac:        float64(mix.IOC) / float64(p.Orders),
		ReplaceFrac:    float64(mix.Replace) / float64(p.Orders),
		CancelFrac:     float64(mix.Cancel) / float64(p.Orders),
		IOCShareOfNew:  float64(mix.IOC) / float64(max(mix.IOC+mix.NewResting, 1)),
		GenerateSec:    time.Since(t).Seconds(),
	}
	for _, in := range cfg.Instruments {
		w.Instruments = append(w.Instruments, in.Symbol)
	}

	// (a) The matching core: untimed passes for throughput and
	// allocations, then one with every Apply timed for latency.
	out := make([]engine.Event, 0, 1024)
	best := time.Duration(math.MaxInt64)
	for run := range coreRuns {
		o.progress("matching core: throughput pass %d/%d", run+1, coreRuns)
		t = time.Now()
		e, err := engine.New(cfg)
		if err != nil {
			return nil, err
		}
		rep.EngineSetupSec = time.Since(t).Seconds()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		t = time.Now()
		// Driven as the shard drives it: the ClOrdID index entries of
		// the command PrefetchAhead places ahead are fetched early.
		for i := range cmds {
			if j := i + engine.PrefetchAhead; j < len(cmds) {
				e.Prefetch(&cmds[j])
			}
			out = e.Apply(&cmds[i], out[:0])
		}
		el := time.Since(t)
		runtime.ReadMemStats(&after)
		rep.MsgsPerSecRuns = append(rep.MsgsPerSecRuns, float64(len(cmds))/el.Seconds())
		best = min(best, el)
		// Every pass applies the same commands to a fresh engine, so they
		// allocate alike: growth of the engine's slices to their working
		// size, then nothing.
		rep.AllocsPerMsg = float64(after.Mallocs-before.Mallocs) / float64(len(cmds))
		rep.BytesPerMsg = float64(after.TotalAlloc-before.TotalAlloc) / float64(len(cmds))
		w.LiveOrdersEnd = e.LiveOrders()
		w.LevelsEnd = 0
		for id := range cfg.Instruments {
			w.LevelsEnd += len(e.Levels(engine.InstrumentID(id), engine.Buy, 0, nil)) + len(e.Levels(engine.InstrumentID(id), engine.Sell, 0, nil))
		}
	}
	rep.MsgsPerSec = float64(len(cmds)) / best.Seconds()
	rep.NsPerMsg = float64(best.Nanoseconds()) / float64(len(cmds))

	o.progress("matching core: latency pass")
	e, err := engine.New(cfg)
	if err != nil {
		return nil, err
	}
	h := hdrhistogram.New(1, int64(10*time.Second), 3)
	flags := make([]uint8, len(cmds)+1)
	runtime.GC()
	rep.ClockOverheadNs = clockOverhead()
	base := time.Now()
	for i := range cmds {
		if j := i + engine.PrefetchAhead; j < len(cmds) {
			e.Prefetch(&cmds[j])
		}
		t0 := time.Since(base)
		out = e.Apply(&cmds[i], out[:0])
		d := time.Since(base) - t0
		h.RecordValue(max(int64(d), 1))
		w.count(out, flags)
	}
	rep.Latency = latencyOf(h)
	never, traded := 0, 0
	for _, f := range flags {
		if f&flagResting != 0 {
			w.RestingAccepted++
			if f&flagTraded != 0 {
				traded++
			} else {
				never++
			}
		}
	}
	w.RestingNeverFilled = float64(never) / float64(max(w.RestingAccepted, 1))
	w.RestingTraded = float64(traded) / float64(max(w.RestingAccepted, 1))
	w.EventsPerMsg = float64(w.Events) / float64(len(cmds))
	e, flags = nil, nil

	// (b), (c): through a shard, alternating the inputs so a disturbance
	// of the machine is less likely to favour one.
	pipes := []*Pipeline{&rep.Ring, &rep.Chan}
	for _, pl := range pipes {
		pl.Input = map[*Pipeline]string{&rep.Ring: "ring", &rep.Chan: "chan"}[pl]
		pl.Capacity, pl.MaxBatch = o.RingCapacity, o.MaxBatch
	}
	for run := range pipeRuns {
		for _, pl := range pipes {
			o.progress("shard via %s: saturated, run %d/%d", pl.Input, run+1, pipeRuns)
			r, err := runPipeline(o, cfg, cmds, pl.Input, 0)
			if err != nil {
				return nil, err
			}
			pl.Runs = append(pl.Runs, r.msgsPerSec)
			if r.msgsPerSec > pl.MsgsPerSec {
				pl.MsgsPerSec, pl.AvgBatch, pl.Saturated = r.msgsPerSec, r.avgBatch, r.latency
			}
		}
	}
	rate := math.Round(min(rep.Ring.MsgsPerSec, rep.Chan.MsgsPerSec) / 4)
	paced := min(len(cmds), int(rate*o.PacedSec))
	for _, pl := range pipes {
		o.progress("shard via %s: %d messages paced at %.0f msgs/s", pl.Input, paced, rate)
		r, err := runPipeline(o, cfg, cmds[:paced], pl.Input, rate)
		if err != nil {
			return nil, err
		}
		pl.PacedRate, pl.PacedMsgs, pl.Paced = rate, paced, r.latency
	}
	for run := range pipeRuns {
		for _, pl := range pipes {
			o.progress("%s alone, run %d/%d", pl.Input, run+1, pipeRuns)
			r, err := runTransport(o, cmds[:min(len(cmds), 500_000)], pl.Input)
			if err != nil {
				return nil, err
			}
			pl.TransportMsgsPerSec = max(pl.TransportMsgsPerSec, r)
		}
	}
	rep.RingVsChan = rep.Ring.MsgsPerSec / rep.Chan.MsgsPerSec
	rep.RingLatencyVsChanP50 = float64(rep.Ring.Paced.P50) / float64(max(rep.Chan.Paced.P50, 1))
	rep.RingLatencyVsChanP99 = float64(rep.Ring.Paced.P99) / float64(max(rep.Chan.Paced.P99, 1))
	rep.RingVsChanTransport = rep.Ring.TransportMsgsPerSec / rep.Chan.TransportMsgsPerSec
	rep.ElapsedSec = time.Since(start).Seconds()
	return rep, nil
}

func newInput(kind string, c shard.InputConfig) (shard.Input, error) {
	if kind == "ring" {
		return shard.NewRing(c)
	}
	return shard.NewChanInput(c)
}

// offerAll offers every command, retrying while the input is busy.
func offerAll(in shard.Input, cmds []engine.Command) error {
	for i := range cmds {
		for {
			err := in.Offer(&cmds[i])
			if err == nil {
				break
			}
			if !errors.Is(err, shard.ErrBusy) {
				return err
			}
			runtime.Gosched()
		}
	}
	return nil
}

// runTransport measures an input alone: one producer, one consumer that
// discards what it polls.
func runTransport(o Options, cmds []engine.Command, kind string) (float64, error) {
	in, err := newInput(kind, shard.InputConfig{Capacity: o.RingCapacity, NextSeq: 1})
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	got := 0
	wg.Go(func() {
		dst := make([]engine.Command, o.MaxBatch)
		for {
			n, err := in.Poll(dst)
			if err != nil {
				return
			}
			got += n
		}
	})
	t := time.Now()
	err = offerAll(in, cmds)
	in.Close()
	wg.Wait()
	el := time.Since(t)
	if err != nil {
		return 0, err
	}
	if got != len(cmds) {
		return 0, fmt.Errorf("enginebench: %s delivered %d of %d commands", kind, got, len(cmds))
	}
	return float64(len(cmds)) / el.Seconds(), nil
}

// Flags kept per OrderID (dense from 1 in a shard-0 engine): was the
// order meant to rest, did it ever trade.
const (
	flagResting = 1 << iota
	flagTraded
)

// count tallies one command's events into the workload description.
func (w *Workload) count(evs []engine.Event, flags []uint8) {
	w.Events += len(evs)
	for i := range evs {
		ev := &evs[i]
		if id := int(ev.OrderID); id > 0 && id < len(flags) {
			switch ev.Kind {
			case engine.EvAccepted:
				if ev.OrdType == engine.Limit && (ev.TIF == engine.Day || ev.TIF == engine.GTC || ev.TIF == engine.GTD) {
					flags[id] |= flagResting
				}
			case engine.EvFill:
				flags[id] |= flagTraded
			}
		}
		switch ev.Kind {
		case engine.EvTrade:
			w.Trades++
		case engine.EvRejected:
			w.Rejects++
		case engine.EvCancelRejected:
			w.CancelRejects++
			if ev.Reason == engine.ReasonTooLate {
				w.TooLate++
			}
		case engine.EvCancelled:
			if ev.Reason == engine.ReasonRequested {
				w.CancelledByUser++
			}
		}
	}
}

// clockOverhead is what one time.Since costs, which every latency sample
// includes once.
func clockOverhead() float64 {
	const n = 1 << 20
	base := time.Now()
	var sink time.Duration
	t := time.Now()
	for range n {
		sink += time.Since(base)
	}
	_ = sink
	return float64(time.Since(t).Nanoseconds()) / n
}

// latencySink records, per command, when its batch was applied and
// delivered; the latencies are computed after the run so the shard's
// goroutine pays one store per command, not a histogram update.
type latencySink struct {
	base      time.Time
	appliedAt []int64 // by Seq-1
	batches   int
}

func (s *latencySink) Deliver(b *shard.Batch) error {
	now := int64(time.Since(s.base))
	for i := range b.Commands {
		s.appliedAt[b.Commands[i].Seq-1] = now
	}
	s.batches++
	return nil
}

type pipelineResult struct {
	msgsPerSec float64
	avgBatch   float64
	latency    Latency
}

// runPipeline runs the workload through a fresh engine in a shard fed by
// the named input from one producer goroutine. rate 0 offers as fast as
// the input takes them; otherwise at rate commands a second.
func runPipeline(o Options, cfg engine.Config, cmds []engine.Command, input string, rate float64) (pipelineResult, error) {
	var res pipelineResult
	e, err := engine.New(cfg)
	if err != nil {
		return res, err
	}
	in, err := newInput(input, shard.InputConfig{Capacity: o.RingCapacity, NextSeq: 1})
	if err != nil {
		return res, err
	}
	base := time.Now()
	sink := &latencySink{base: base, appliedAt: make([]int64, len(cmds))}
	offeredAt := make([]int64, len(cmds))
	sh, err := shard.New(e, in, sink, shard.Options{MaxBatch: o.MaxBatch})
	if err != nil {
		return res, err
	}
	runtime.GC()
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = sh.Run(context.Background()) })

	t := time.Now()
	var interval float64
	if rate > 0 {
		interval = float64(time.Second) / rate
	}
	for i := range cmds {
		if rate > 0 {
			due := int64(float64(i) * interval)
			for int64(time.Since(base)) < due {
				// Wait without sleeping (a sleep's resolution is far
				// coarser than the interval) but yielding: a producer
				// that never yields keeps the consumer it has just woken
				// off its processor (the runtime queues a woken goroutine
				// on the waker's P), which no real producer, blocked on
				// its network connection most of the time, does.
				runtime.Gosched()
			}
			offeredAt[i] = due
		}
		for {
			if rate == 0 {
				offeredAt[i] = int64(time.Since(base))
			}
			err := in.Offer(&cmds[i])
			if err == nil {
				break
			}
			if !errors.Is(err, shard.ErrBusy) {
				return res, err
			}
			runtime.Gosched()
		}
	}
	in.Close()
	wg.Wait()
	el := time.Since(t)
	if runErr != nil {
		return res, runErr
	}
	if sh.Applied() != uint64(len(cmds)) {
		return res, fmt.Errorf("enginebench: the shard applied %d of %d commands", sh.Applied(), len(cmds))
	}
	res.msgsPerSec = float64(len(cmds)) / el.Seconds()
	res.avgBatch = float64(len(cmds)) / float64(sink.batches)
	h := hdrhistogram.New(1, int64(100*time.Second), 3)
	for i := range cmds {
		h.RecordValue(max(sink.appliedAt[i]-offeredAt[i], 1))
	}
	res.latency = latencyOf(h)
	return res, nil
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the human summary.
func (r *Report) WriteText(w io.Writer) error {
	wl := &r.Workload
	f := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	f("fxmatch bench engine — %s, GOMAXPROCS=%d, %d CPUs, load average %.2f at start", r.GoVersion, r.GOMAXPROCS, r.NumCPU, r.LoadAverage)
	f("workload: %d messages, seed %d, %d banks (%d credit lines), %v", wl.Orders, wl.Seed, wl.Participants, wl.CreditLines, wl.Instruments)
	f("  mix: %.1f%% new resting, %.1f%% IOC/FOK/market (%.1f%% of new orders), %.1f%% replace, %.1f%% cancel",
		100*wl.NewRestingFrac, 100*wl.IOCFrac, 100*wl.IOCShareOfNew, 100*wl.ReplaceFrac, 100*wl.CancelFrac)
	f("  outcome: %d trades, %d cancelled on request, %d rejects, %d cancel/replace refused (%d too late); %.2f events/msg",
		wl.Trades, wl.CancelledByUser, wl.Rejects, wl.CancelRejects, wl.TooLate, wl.EventsPerMsg)
	f("  resting orders: %d accepted, %.1f%% never traded (cancelled, replaced away or still resting), %.1f%% traded",
		wl.RestingAccepted, 100*wl.RestingNeverFilled, 100*wl.RestingTraded)
	f("  book at the end: %d live orders on %d levels (generated in %.2fs)", wl.LiveOrdersEnd, wl.LevelsEnd, wl.GenerateSec)
	f("")
	f("matching core (Engine.Apply on one goroutine):")
	f("  throughput  %s msgs/s  (%.0f ns/msg; best of %d untimed passes)", human(r.MsgsPerSec), r.NsPerMsg, len(r.MsgsPerSecRuns))
	f("  latency     p50 %s  p99 %s  p99.9 %s  max %s", ns(r.P50), ns(r.P99), ns(r.P999), ns(r.Max))
	f("              (each Apply timed alone: includes ~%.0f ns of clock-read overhead per message)", r.ClockOverheadNs)
	f("  allocations %.5f allocs/msg, %.2f B/msg (runtime.MemStats around an untimed pass, fresh engine: warm-up growth included)", r.AllocsPerMsg, r.BytesPerMsg)
	f("")
	f("through a shard (producer goroutine -> input -> shard goroutine: Apply, sink, book snapshots):")
	for _, p := range []*Pipeline{&r.Ring, &r.Chan} {
		f("  %-4s cap %d, batch <= %d: %s msgs/s end to end (best of %d; avg batch %.1f); the input alone %s msgs/s",
			p.Input, p.Capacity, p.MaxBatch, human(p.MsgsPerSec), len(p.Runs), p.AvgBatch, human(p.TransportMsgsPerSec))
		f("       offer->applied, saturated (queueing in a full input): p50 %s  p99 %s  p99.9 %s", ns(p.Saturated.P50), ns(p.Saturated.P99), ns(p.Saturated.P999))
		f("       offer->applied, %d msgs paced at %s/s:           p50 %s  p99 %s  p99.9 %s", p.PacedMsgs, human(p.PacedRate), ns(p.Paced.P50), ns(p.Paced.P99), ns(p.Paced.P999))
	}
	f("  ring vs channel: %.2fx the throughput end to end, %.2fx for the input alone; paced latency %.2fx (p50) and %.2fx (p99) the channel's",
		r.RingVsChan, r.RingVsChanTransport, r.RingLatencyVsChanP50, r.RingLatencyVsChanP99)
	f("")
	f("total %.1fs", r.ElapsedSec)
	return nil
}

// loadAverage reads the 1-minute load average, -1 if it cannot.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, _, _ := strings.Cut(string(b), " ")
	v, err := strconv.ParseFloat(f, 64)
	if err != nil {
		return -1
	}
	return v
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func ns(v int64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fms", float64(v)/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fµs", float64(v)/1e3)
	}
	return fmt.Sprintf("%dns", v)
}

package journal

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"fxmatch/engine"
)

// BenchOptions configures Bench. The zero value is the standard run.
type BenchOptions struct {
	// Dir is where the temporary journal is made (default os.TempDir()).
	// Point it at the disk the venue will use: a tmpfs measures memory.
	Dir string
	// Keep leaves the journal behind instead of deleting it.
	Keep bool
	// Durability of the run (DurabilitySync unless asked).
	Durability Durability
	// Events is how many events the throughput phase writes (default
	// 6,000,000: about two million records of the realistic mix).
	Events int
	// BatchRecords is the commands per Append, the shard's batch (default
	// 256, the shard's default MaxBatch).
	BatchRecords int
	// Shards is how many producers append concurrently, one shard each
	// (default 1).
	Shards int
	// Rate is the offered load of the latency phase in events a second
	// (default 300,000), LatencyDuration its length (default 3s). Rate 0
	// with LatencySkip skips the phase.
	Rate            int
	LatencyDuration time.Duration
	LatencySkip     bool
	// Logger for the journal (default: discard below error).
	Logger *slog.Logger
	// Tuning passed to Options (zero: the journal's defaults).
	MemTableSize   uint64
	MaxCommitBytes int
	MaxBlockBytes  int
	MaxQueueBytes  int
}

// BenchResult is what Bench measured. Field names say their unit.
type BenchResult struct {
	Dir        string `json:"dir"`
	Filesystem string `json:"filesystem"`
	Durability string `json:"durability"`
	Shards     int    `json:"shards"`
	GoVersion  string `json:"go_version"`
	NumCPU     int    `json:"num_cpu"`
	// The machine's 1-minute load average before and after the run: on a
	// shared machine, figures taken under load say less.
	LoadAverageStart float64 `json:"load_average_start"`
	LoadAverageEnd   float64 `json:"load_average_end"`

	// Throughput phase: producers append as fast as the journal takes it.
	Records              int     `json:"records"`
	Events               int     `json:"events"`
	EventsPerRecord      float64 `json:"events_per_record"`
	BytesPerEvent        float64 `json:"bytes_per_event"`
	DurableSeconds       float64 `json:"durable_seconds"`
	DurableEventsPerSec  float64 `json:"durable_events_per_sec"`
	DurableRecordsPerSec float64 `json:"durable_records_per_sec"`
	DurableMBPerSec      float64 `json:"durable_mb_per_sec"`
	Commits              uint64  `json:"commits"`
	RecordsPerCommit     float64 `json:"records_per_commit"`

	// Latency phase (run first, on an empty journal): a paced producer at
	// RateEventsPerSec; latency is from the Append call that enqueued a
	// record to its durable acknowledgement.
	RateEventsPerSec   int     `json:"rate_events_per_sec"`
	LatencyRecords     int64   `json:"latency_records"`
	LatencyP50Micros   float64 `json:"latency_p50_us"`
	LatencyP99Micros   float64 `json:"latency_p99_us"`
	LatencyP999Micros  float64 `json:"latency_p999_us"`
	LatencyMaxMicros   float64 `json:"latency_max_us"`
	LatencyCommitsPerS float64 `json:"latency_commits_per_sec"`

	// Replay phase: Verify over the whole journal from a read-only open:
	// every record decoded and its chain link recomputed.
	ReplayOpenSeconds  float64 `json:"replay_open_seconds"`
	ReplaySeconds      float64 `json:"replay_seconds"`
	ReplayEventsPerSec float64 `json:"replay_events_per_sec"`
	ReplayHead         string  `json:"replay_head"`
}

// WriteJSON writes the result as one indented JSON object.
func (r *BenchResult) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the human summary.
func (r *BenchResult) WriteText(w io.Writer) error {
	_, err := io.WriteString(w, r.String())
	return err
}

// String formats the result as a short report.
func (r BenchResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fxmatch bench journal — %s, %d CPUs, load average %.2f at start, %.2f at end\n",
		r.GoVersion, r.NumCPU, r.LoadAverageStart, r.LoadAverageEnd)
	fmt.Fprintf(&b, "  dir %s (%s), durability %s, %d shard(s)\n", r.Dir, r.Filesystem, r.Durability, r.Shards)
	what := "durable: "
	if r.Durability != DurabilitySync.String() {
		what = "acked:   " // durability none: acknowledged, NOT durable
	}
	fmt.Fprintf(&b, "  %s %d events (%d records, %.2f events/record, %.1f bytes/event) in %.2fs\n",
		what, r.Events, r.Records, r.EventsPerRecord, r.BytesPerEvent, r.DurableSeconds)
	fmt.Fprintf(&b, "            %.0f events/s, %.0f records/s, %.1f MB/s, %d commits (%.0f records/commit)\n",
		r.DurableEventsPerSec, r.DurableRecordsPerSec, r.DurableMBPerSec, r.Commits, r.RecordsPerCommit)
	if r.RateEventsPerSec > 0 {
		fmt.Fprintf(&b, "  latency at %d events/s offered (%d records, %.0f commits/s): p50 %.0fµs p99 %.0fµs p99.9 %.0fµs max %.0fµs\n",
			r.RateEventsPerSec, r.LatencyRecords, r.LatencyCommitsPerS, r.LatencyP50Micros, r.LatencyP99Micros, r.LatencyP999Micros, r.LatencyMaxMicros)
	}
	fmt.Fprintf(&b, "  replay:   %.0f events/s with the chain checked (%.2fs, open %.2fs), head %s\n",
		r.ReplayEventsPerSec, r.ReplaySeconds, r.ReplayOpenSeconds, r.ReplayHead)
	return b.String()
}

// Bench measures the journal on a real directory: durable events a
// second with group commit, enqueue-to-durable latency at an offered rate,
// and replay events a second with the chain verified. It is what
// `fxmatch bench journal` runs.
func Bench(o BenchOptions) (res BenchResult, err error) {
	if o.Dir == "" {
		o.Dir = os.TempDir()
	}
	if o.Events <= 0 {
		o.Events = 6_000_000
	}
	if o.BatchRecords <= 0 {
		o.BatchRecords = 256
	}
	if o.Shards <= 0 {
		o.Shards = 1
	}
	if o.Rate <= 0 && !o.LatencySkip {
		o.Rate = 300_000
	}
	if o.LatencyDuration <= 0 {
		o.LatencyDuration = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	dir, err := os.MkdirTemp(o.Dir, "fxmatch-journal-bench-")
	if err != nil {
		return res, fmt.Errorf("journal: bench: %w", err)
	}
	if !o.Keep {
		defer os.RemoveAll(dir)
	}
	res = BenchResult{Dir: dir, Filesystem: filesystemOf(dir), Durability: o.Durability.String(), Shards: o.Shards,
		GoVersion: runtime.Version(), NumCPU: runtime.NumCPU(), LoadAverageStart: loadAverage()}
	defer func() { res.LoadAverageEnd = loadAverage() }()

	j, err := Open(dir, Options{Durability: o.Durability, Logger: o.Logger, MemTableSize: o.MemTableSize,
		MaxCommitBytes: o.MaxCommitBytes, MaxBlockBytes: o.MaxBlockBytes, MaxQueueBytes: o.MaxQueueBytes})
	if err != nil {
		return res, err
	}
	closed := false
	defer func() {
		if !closed {
			j.Close()
		}
	}()
	if !o.LatencySkip {
		if err := benchLatency(j, &o, &res); err != nil {
			return res, err
		}
	}
	if err := benchThroughput(j, &o, &res); err != nil {
		return res, err
	}
	closed = true
	if err := j.Close(); err != nil {
		return res, err
	}
	return res, benchReplay(dir, &o, &res)
}

// benchBatches pre-builds a ring of realistic batches, so the producers
// spend their time in the journal, as the shard does (its engine time is
// not the journal's); only sequence numbers are rewritten per use.
type benchBatches struct {
	cmds   [][]engine.Command
	events [][]engine.Event
	ends   [][]int
}

func newBenchBatches(shard uint16, n, per int) *benchBatches {
	s := newSynth(shard, 1)
	b := &benchBatches{}
	for range n {
		c, e, en := s.batch(per, nil, nil, nil)
		b.cmds, b.events, b.ends = append(b.cmds, c), append(b.events, e), append(b.ends, en)
	}
	return b
}

// get returns batch i (of the ring) renumbered to start at seq, cut to
// n commands.
func (b *benchBatches) get(i int, seq uint64, n int) ([]engine.Command, []engine.Event, []int) {
	k := i % len(b.cmds)
	cmds, events, ends := b.cmds[k][:n], b.events[k], b.ends[k][:n]
	events = events[:ends[n-1]]
	lo := 0
	for c := range cmds {
		cmds[c].Seq = seq + uint64(c)
		for e := lo; e < ends[c]; e++ {
			events[e].Seq = cmds[c].Seq
		}
		lo = ends[c]
	}
	return cmds, events, ends
}

func benchThroughput(j *Journal, o *BenchOptions, res *BenchResult) error {
	perShard := o.Events / 3 / o.Shards // the mix averages 3 events a record
	var wg sync.WaitGroup
	errs := make([]error, o.Shards)
	apps := make([]*Appender, o.Shards)
	bbs := make([]*benchBatches, o.Shards)
	events := make([]int, o.Shards)
	for s := range o.Shards {
		a, err := j.Appender(uint16(s), nil)
		if err != nil {
			return err
		}
		apps[s] = a
		bbs[s] = newBenchBatches(uint16(s), 16, o.BatchRecords)
	}
	before := j.Stats()
	start := time.Now()
	for s := range o.Shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, bb := apps[s], bbs[s]
			for i := 0; int(a.Next()) <= perShard; i++ {
				n := min(o.BatchRecords, perShard+1-int(a.Next()))
				cmds, evs, ends := bb.get(i, a.Next(), n)
				events[s] += len(evs)
				if err := a.Append(cmds, evs, ends); err != nil {
					errs[s] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	// Appended is not durable: the clock stops when the last record of
	// every shard is.
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	for {
		all := true
		for _, a := range apps {
			all = all && a.Durable() == uint64(perShard)
		}
		if all {
			break
		}
		if err := j.Err(); err != nil {
			return err
		}
		time.Sleep(50 * time.Microsecond)
	}
	el := time.Since(start).Seconds()
	st := j.Stats()
	total := 0
	for _, e := range events {
		total += e
	}
	res.Records = perShard * o.Shards
	res.Events = total
	res.EventsPerRecord = float64(total) / float64(res.Records)
	res.BytesPerEvent = float64(st.Bytes-before.Bytes) / float64(total)
	res.DurableSeconds = el
	res.DurableEventsPerSec = float64(total) / el
	res.DurableRecordsPerSec = float64(res.Records) / el
	res.DurableMBPerSec = float64(st.Bytes-before.Bytes) / el / 1e6
	res.Commits = st.Commits - before.Commits
	res.RecordsPerCommit = float64(st.Records-before.Records) / float64(max(res.Commits, 1))
	return nil
}

// benchLatency offers records at a fixed rate from one producer, as a
// shard would deliver them (whatever is due, in one batch), and records
// each record's latency from the Append call that enqueued it to its
// durable acknowledgement: the journal's share of an order's latency. A
// blocked Append (back-pressure) counts, since the clock starts before
// the call.
func benchLatency(j *Journal, o *BenchOptions, res *BenchResult) error {
	// The latency phase has a shard of its own, after the throughput
	// phase's, so the two phases' chains stay separate.
	shard := uint16(o.Shards)
	recRate := float64(o.Rate) / 3
	total := int(recRate * o.LatencyDuration.Seconds())
	if total < 1 {
		return nil
	}
	enq := make([]int64, total+1) // by sequence: when Append was called for it (ns since start)
	hist := hdrhistogram.New(1, int64(10*time.Second/time.Microsecond), 3)
	var mu sync.Mutex
	var ackErr error
	start := time.Now()
	acked := make(chan struct{})
	a, err := j.Appender(shard, func(first, last uint64, err error) {
		now := time.Since(start).Nanoseconds()
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			ackErr = err
			return
		}
		for s := first; s <= last; s++ {
			hist.RecordValue(max((now-enq[s])/1000, 1))
		}
		if last == uint64(total) {
			close(acked)
		}
	})
	if err != nil {
		return err
	}
	before := j.Stats()
	bb := newBenchBatches(shard, 16, o.BatchRecords)
	interval := 1e9 / recRate // ns between records
	start = time.Now()
	sent := 0
	for i := 0; sent < total; i++ {
		now := time.Since(start).Nanoseconds()
		n := min(int(float64(now)/interval)+1, total) - sent
		if n <= 0 {
			next := int64(float64(sent) * interval)
			time.Sleep(time.Duration(next - now))
			continue
		}
		n = min(n, o.BatchRecords)
		cmds, evs, ends := bb.get(i, a.Next(), n)
		now = time.Since(start).Nanoseconds()
		for k := 1; k <= n; k++ {
			enq[sent+k] = now
		}
		if err := a.Append(cmds, evs, ends); err != nil {
			return err
		}
		sent += n
	}
	select {
	case <-acked:
	case <-time.After(30 * time.Second):
		return fmt.Errorf("journal: bench: latency phase not acknowledged after 30s")
	}
	el := time.Since(start).Seconds()
	mu.Lock()
	defer mu.Unlock()
	if ackErr != nil {
		return ackErr
	}
	res.RateEventsPerSec = o.Rate
	res.LatencyRecords = hist.TotalCount()
	res.LatencyP50Micros = float64(hist.ValueAtQuantile(50))
	res.LatencyP99Micros = float64(hist.ValueAtQuantile(99))
	res.LatencyP999Micros = float64(hist.ValueAtQuantile(99.9))
	res.LatencyMaxMicros = float64(hist.Max())
	res.LatencyCommitsPerS = float64(j.Stats().Commits-before.Commits) / el
	return nil
}

func benchReplay(dir string, o *BenchOptions, res *BenchResult) error {
	t0 := time.Now()
	rd, err := OpenReader(dir, ReaderOptions{Options{Logger: o.Logger}})
	if err != nil {
		return err
	}
	defer rd.Close()
	res.ReplayOpenSeconds = time.Since(t0).Seconds()
	shards, err := rd.Shards()
	if err != nil {
		return err
	}
	events := 0
	t0 = time.Now()
	var heads []string
	for _, s := range shards {
		h, err := rd.Verify(s, func(r *Record) error {
			events += len(r.Events)
			return nil
		})
		if err != nil {
			return err
		}
		heads = append(heads, fmt.Sprintf("%d:%d:%x", s, h.Seq, h.Hash[:8]))
	}
	res.ReplaySeconds = time.Since(t0).Seconds()
	res.ReplayEventsPerSec = float64(events) / res.ReplaySeconds
	res.ReplayHead = strings.Join(heads, ",")
	return nil
}

// loadAverage is the 1-minute load average, 0 where /proc has none.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// filesystemOf names the filesystem holding dir from /proc/self/mounts
// (the longest mount point that is a prefix), "unknown" elsewhere.
func filesystemOf(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "unknown"
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	return mountOf(f, abs)
}

func mountOf(r io.Reader, path string) string {
	best, fs := -1, "unknown"
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		mp := f[1]
		if (path == mp || strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > best {
			best, fs = len(mp), f[2]+" on "+f[0]
		}
	}
	return fs
}

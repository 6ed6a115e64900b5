package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/gateway"
	"fxmatch/gateway/gwbench"
)

// `fxmatch bench http` and `fxmatch bench ws`: the gateway measured from
// the outside (package gateway/gwbench), against a venue this command
// starts in-process or a running one (--addr).

const benchHTTPUsage = `usage: fxmatch bench http [flags]

Order entry over HTTP (POST /api/v1/orders) at a fixed offered rate, open
loop: every order has an intended send time and its latency is measured
from that time to its answer (201 or 422: both are durable outcomes), so
a stall of the venue shows in the figures instead of slowing the load.
Orders come in maker/taker pairs (a resting GTC, then an IOC on the other
side at the same price) from two participants, so every pair trades and
the book stays flat. Prints p50/p90/p99/p99.9/max latency, the achieved
rate, the answers by status, and the load average.

Flags:
  --addr URL        a running venue's HTTP address (http://127.0.0.1:8080);
                    default: start one in-process (demo configuration, a
                    temporary data directory, rate limits raised)
  --durability D    in-process venue: sync (default) or none
  --tokens A,B      the two participants' API tokens (default the demo
                    tokens demo-banka,demo-bankb; loopback only)
  --rate R          offered orders a second (default 1000)
  --duration D      measured duration (default 10s)
  --warmup D        unmeasured run-in at the same rate (default 1s)
  --inflight N      requests (and connections) in flight at most (default 256)
  --symbol S        pair (default USD/CNY); --price P (default 7.1010);
                    --qty Q (default 100000)
  --json            print one JSON object
  --cpuprofile F    write a CPU profile of the run (generator and
                    in-process venue) to F
`

const benchWSUsage = `usage: fxmatch bench ws [flags]

WebSocket market-data fan-out: N clients subscribe to a pair's book and
trades streams (GET /api/v1/stream), orders are driven into the pair at a
fixed rate, and every frame's delivery delay is measured from its event's
engine time (the command's sequencing) to its receipt by the client: the
journal's sync, the hub, the gateway's fan-out, the WebSocket. Prints the
delay's p50/p99/p99.9/max, frames received, disconnected subscribers and
the load average.

Flags:
  --addr URL        a running venue (default: start one in-process)
  --durability D    in-process venue: sync (default) or none
  --subscribers N   WebSocket clients (default 1000)
  --rate R          orders a second driven into the pair (default 100)
  --duration D      measured duration (default 10s); --warmup D (default 1s)
  --drive M         how orders are driven: http (POST /orders; the default
                    with --addr) or direct (the in-process venue's
                    SubmitOrder, leaving the HTTP server to the stream;
                    the default in-process)
  --tokens A,B      the driver's two participants (as for bench http)
  --sub-tokens LIST the subscribers' tokens, used round-robin (default the
                    five demo participants': the gateway bounds each
                    participant's open streams)
  --symbol S, --price P, --qty Q   as for bench http
  --json, --cpuprofile F             as for bench http
`

// benchGWFlags are the flags bench http and ws share.
type benchGWFlags struct {
	addr, durability, tokens, symbol, price, qty string
	cpuProfile                                   string
	rate                                         int
	duration, warmup                             time.Duration
	asJSON                                       bool
}

func (f *benchGWFlags) add(fs *flag.FlagSet, defRate int) {
	fs.StringVar(&f.addr, "addr", "", "")
	fs.StringVar(&f.durability, "durability", "sync", "")
	fs.StringVar(&f.tokens, "tokens", "demo-banka,demo-bankb", "")
	fs.StringVar(&f.symbol, "symbol", "USD/CNY", "")
	fs.StringVar(&f.price, "price", "7.1010", "")
	fs.StringVar(&f.qty, "qty", "100000", "")
	fs.IntVar(&f.rate, "rate", defRate, "")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "")
	fs.DurationVar(&f.warmup, "warmup", time.Second, "")
	fs.BoolVar(&f.asJSON, "json", false, "")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "")
}

// profile starts a CPU profile of the whole process (load generator and
// in-process venue alike) when --cpuprofile is given; the returned func
// stops it.
func (f *benchGWFlags) profile() (func(), error) {
	if f.cpuProfile == "" {
		return func() {}, nil
	}
	fh, err := os.Create(f.cpuProfile)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile %q: %v", f.cpuProfile, err)
	}
	if err := pprof.StartCPUProfile(fh); err != nil {
		fh.Close()
		return nil, fmt.Errorf("--cpuprofile %q: %v", f.cpuProfile, err)
	}
	return func() { pprof.StopCPUProfile(); fh.Close() }, nil
}

// check validates the shared flags, naming the bad value.
func (f *benchGWFlags) check() (tokens [2]string, err error) {
	switch {
	case f.rate < 1 || f.rate > 1_000_000:
		return tokens, fmt.Errorf("--rate %d: want 1 to 1000000 orders a second", f.rate)
	case f.duration < 100*time.Millisecond || f.duration > time.Hour:
		return tokens, fmt.Errorf("--duration %s: want 100ms to 1h", f.duration)
	case f.warmup < 0 || f.warmup > 10*time.Minute:
		return tokens, fmt.Errorf("--warmup %s: want 0 to 10m", f.warmup)
	case f.durability != "sync" && f.durability != "none":
		return tokens, fmt.Errorf("--durability %q: want sync or none", f.durability)
	case f.addr != "" && !strings.HasPrefix(f.addr, "http://") && !strings.HasPrefix(f.addr, "https://"):
		return tokens, fmt.Errorf("--addr %q: want a URL such as http://127.0.0.1:8080", f.addr)
	}
	parts := strings.Split(f.tokens, ",")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return tokens, fmt.Errorf("--tokens %q: want two tokens separated by a comma", f.tokens)
	}
	if _, err := engine.ParsePrice(f.price); err != nil {
		return tokens, fmt.Errorf("--price %q: %v", f.price, err)
	}
	return [2]string{parts[0], parts[1]}, nil
}

// benchGateway is a venue with its HTTP API started in-process for a
// benchmark.
type benchGateway struct {
	v      *venue.Venue
	gw     *gateway.Server
	base   string
	dir    string
	stop   context.CancelFunc
	runErr chan error
}

// startBenchGateway starts the demo venue in a temporary directory with
// its gateway on a loopback port; the per-participant rate limit is
// raised so that it is the venue, not the limiter, being measured.
func startBenchGateway(durability string, stderr io.Writer) (*benchGateway, error) {
	dir, err := os.MkdirTemp("", "fxmatch-bench-gw-")
	if err != nil {
		return nil, err
	}
	cfg := config.Demo()
	cfg.Venue.DataDir = dir
	if durability == "none" {
		cfg.Venue.Durability = config.DurabilityNone
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError + 1}))
	v, err := venue.Open(venue.Options{Config: cfg, DataDir: dir, Logger: log})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	gw, err := gateway.New(v, gateway.Options{Logger: log, RatePerSecond: 1_000_000, RateBurst: 1_000_000})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		gw.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &benchGateway{v: v, gw: gw, base: "http://" + ln.Addr().String(), dir: dir, stop: cancel, runErr: make(chan error, 1)}
	go func() { b.runErr <- v.Run(ctx) }()
	go gw.Serve(ln)
	deadline := time.Now().Add(5 * time.Second)
	for !v.Running() {
		if time.Now().After(deadline) {
			b.close()
			return nil, errors.New("the in-process venue did not start")
		}
		time.Sleep(time.Millisecond)
	}
	return b, nil
}

func (b *benchGateway) close() {
	b.gw.Close()
	b.stop()
	<-b.runErr
	os.RemoveAll(b.dir)
}

func parseBenchFlags(name, usage string, args []string, stdout, stderr io.Writer, fs *flag.FlagSet) (int, bool) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return exitOK, false
		}
		fmt.Fprintf(stderr, "fxmatch bench %s: %v\n\n%s", name, err, usage)
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fxmatch bench %s: unexpected argument %q\n\n%s", name, fs.Arg(0), usage)
		return exitUsage, false
	}
	return exitOK, true
}

// runBenchHTTP is `fxmatch bench http`.
func runBenchHTTP(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f benchGWFlags
	fs := flag.NewFlagSet("fxmatch bench http", flag.ContinueOnError)
	f.add(fs, 1000)
	inflight := fs.Int("inflight", 256, "")
	if code, ok := parseBenchFlags("http", benchHTTPUsage, args, stdout, stderr, fs); !ok {
		return code
	}
	tokens, err := f.check()
	if err == nil && (*inflight < 1 || *inflight > 10_000) {
		err = fmt.Errorf("--inflight %d: want 1 to 10000", *inflight)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch bench http: %v\n\n%s", err, benchHTTPUsage)
		return exitUsage
	}
	base, where := f.addr, f.addr
	if base == "" {
		b, err := startBenchGateway(f.durability, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch bench http: %v\n", err)
			return exitFail
		}
		defer b.close()
		base, where = b.base, "in-process venue (durability "+f.durability+")"
	}
	stopProfile, err := f.profile()
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch bench http: %v\n", err)
		return exitUsage
	}
	defer stopProfile()
	load0 := loadAvg()
	fmt.Fprintf(stderr, "fxmatch bench http: %d orders/s for %s (+%s warm-up) against %s...\n", f.rate, f.duration, f.warmup, where)
	res, err := gwbench.RunHTTP(ctx, gwbench.HTTPParams{
		BaseURL: base, Tokens: tokens, Symbol: f.symbol, Price: f.price, Qty: f.qty,
		Rate: f.rate, Duration: f.duration, Warmup: f.warmup, MaxInflight: *inflight,
	})
	if err != nil && res == nil {
		fmt.Fprintf(stderr, "fxmatch bench http: %v\n", err)
		return exitFail
	}
	out := struct {
		Target     string `json:"target"`
		Durability string `json:"durability,omitempty"`
		LoadAvg    string `json:"loadavg_1m_before"`
		LoadAfter  string `json:"loadavg_1m_after"`
		*gwbench.HTTPResult
	}{where, "", load0, loadAvg(), res}
	if f.addr == "" {
		out.Durability = f.durability
	}
	if f.asJSON {
		b, _ := json.Marshal(out)
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		l := res.Latency
		fmt.Fprintf(stdout, "bench http: %s\n", where)
		fmt.Fprintf(stdout, "  offered    %d orders/s for %.1fs: sent %d, answered %d (%.0f/s achieved)\n", res.Offered, res.DurationS, res.Sent, res.Completed, res.AchievedRate)
		fmt.Fprintf(stdout, "  latency    p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (from intended send time to answer)\n",
			us(l.P50), us(l.P90), us(l.P99), us(l.P999), us(l.Max))
		fmt.Fprintf(stdout, "  answers    %v", res.Status)
		if len(res.Reasons) > 0 {
			fmt.Fprintf(stdout, "  422 reasons %v", res.Reasons)
		}
		fmt.Fprintf(stdout, "\n  late sends %d (left >1ms after their intended time; counted in latency)\n", res.LateSends)
		if res.FirstError != "" {
			fmt.Fprintf(stdout, "  first error %s\n", res.FirstError)
		}
		fmt.Fprintf(stdout, "  load avg   %s before, %s after (1 min; this machine has %d cores shared with everything else)\n", load0, out.LoadAfter, runtime.NumCPU())
	}
	if res.Completed == 0 {
		return exitFail
	}
	return exitOK
}

// runBenchWS is `fxmatch bench ws`.
func runBenchWS(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f benchGWFlags
	fs := flag.NewFlagSet("fxmatch bench ws", flag.ContinueOnError)
	f.add(fs, 100)
	subs := fs.Int("subscribers", 1000, "")
	drive := fs.String("drive", "", "")
	subTokens := fs.String("sub-tokens", "demo-banka,demo-bankb,demo-bankc,demo-broker1,demo-regulator", "")
	if code, ok := parseBenchFlags("ws", benchWSUsage, args, stdout, stderr, fs); !ok {
		return code
	}
	tokens, err := f.check()
	switch {
	case err != nil:
	case *subs < 1 || *subs > 20_000:
		err = fmt.Errorf("--subscribers %d: want 1 to 20000", *subs)
	case *drive != "" && *drive != "http" && *drive != "direct":
		err = fmt.Errorf("--drive %q: want http or direct", *drive)
	case *drive == "direct" && f.addr != "":
		err = errors.New("--drive direct needs the in-process venue (no --addr)")
	case *subTokens == "" || strings.Contains(","+*subTokens+",", ",,"):
		err = fmt.Errorf("--sub-tokens %q: want tokens separated by commas", *subTokens)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch bench ws: %v\n\n%s", err, benchWSUsage)
		return exitUsage
	}
	if *drive == "" {
		*drive = "direct"
		if f.addr != "" {
			*drive = "http"
		}
	}
	hp := gwbench.HTTPParams{BaseURL: f.addr, Tokens: tokens, Symbol: f.symbol, Price: f.price, Qty: f.qty}
	where := f.addr
	var driver func(context.Context, int) error
	if f.addr == "" {
		b, err := startBenchGateway(f.durability, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch bench ws: %v\n", err)
			return exitFail
		}
		defer b.close()
		hp.BaseURL, where = b.base, "in-process venue (durability "+f.durability+")"
		if *drive == "direct" {
			driver, err = directDriver(b.v, hp)
			if err != nil {
				fmt.Fprintf(stderr, "fxmatch bench ws: %v\n", err)
				return exitUsage
			}
		}
	}
	if driver == nil {
		driver = gwbench.HTTPDriver(hp)
	}
	stopProfile, err := f.profile()
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch bench ws: %v\n", err)
		return exitUsage
	}
	defer stopProfile()
	load0 := loadAvg()
	fmt.Fprintf(stderr, "fxmatch bench ws: %d subscribers, %d orders/s (%s) for %s against %s...\n", *subs, f.rate, *drive, f.duration, where)
	res, err := gwbench.RunWS(ctx, gwbench.WSParams{
		BaseURL: hp.BaseURL, Tokens: strings.Split(*subTokens, ","), Subscribers: *subs, Symbol: f.symbol,
		Rate: f.rate, Duration: f.duration, Warmup: f.warmup, Drive: driver,
	})
	if err != nil && (res == nil || res.Connected == 0) {
		fmt.Fprintf(stderr, "fxmatch bench ws: %v\n", err)
		return exitFail
	}
	out := struct {
		Target    string `json:"target"`
		Drive     string `json:"drive"`
		LoadAvg   string `json:"loadavg_1m_before"`
		LoadAfter string `json:"loadavg_1m_after"`
		*gwbench.WSResult
	}{where, *drive, load0, loadAvg(), res}
	if f.asJSON {
		b, _ := json.Marshal(out)
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		d := res.Delay
		fmt.Fprintf(stdout, "bench ws: %s\n", where)
		fmt.Fprintf(stdout, "  subscribers %d of %d connected in %.1fs\n", res.Connected, res.Subscribers, res.ConnectS)
		fmt.Fprintf(stdout, "  orders      %d at %d/s (%s), %d failed\n", res.Orders, res.OrdersRate, *drive, res.DriveErrors)
		fmt.Fprintf(stdout, "  frames      %d measured (%.0f/s over all subscribers)\n", res.Frames, res.FramesPerSec)
		fmt.Fprintf(stdout, "  delay       p50 %s  p99 %s  p99.9 %s  max %s  (event engine time to receipt)\n", us(d.P50), us(d.P99), us(d.P999), us(d.Max))
		if len(res.Disconnected) > 0 {
			fmt.Fprintf(stdout, "  disconnected %v\n", res.Disconnected)
		}
		if res.Undrained {
			fmt.Fprintf(stdout, "  UNDRAINED   frames were still arriving 30s after the last order: the fan-out fell behind\n")
		}
		if res.FirstError != "" {
			fmt.Fprintf(stdout, "  first error %s\n", res.FirstError)
		}
		fmt.Fprintf(stdout, "  load avg    %s before, %s after (1 min; %d cores shared)\n", load0, out.LoadAfter, runtime.NumCPU())
	}
	if res.Frames == 0 {
		return exitFail
	}
	return exitOK
}

// directDriver submits the maker/taker pairs straight into the venue
// (venue.SubmitOrder, channel "other"), so the HTTP server serves only
// the stream.
func directDriver(v *venue.Venue, p gwbench.HTTPParams) (func(context.Context, int) error, error) {
	id, ok := v.Instrument(p.Symbol)
	if !ok {
		return nil, fmt.Errorf("--symbol %q: the venue has no such pair", p.Symbol)
	}
	px, err := engine.ParsePrice(p.Price)
	if err != nil {
		return nil, fmt.Errorf("--price %q: %v", p.Price, err)
	}
	var q int64
	if _, err := fmt.Sscan(p.Qty, &q); err != nil || q <= 0 {
		return nil, fmt.Errorf("--qty %q: want a whole number of units", p.Qty)
	}
	parties := [2]engine.PartyID{1, 2} // BANKA, BANKB in the demo
	run := time.Now().UnixNano() / 1e6 % 1e9
	return func(ctx context.Context, i int) error {
		k := i / 2
		sell := k%2 == 0
		tif := engine.GTC
		if i%2 == 1 {
			sell, tif = !sell, engine.IOC
		}
		side := engine.Buy
		if sell {
			side = engine.Sell
		}
		cmd := &engine.Command{Kind: engine.CmdNewOrder, Party: parties[(k+i%2)%2], Instrument: id,
			ClOrdID: engine.MustID(fmt.Sprintf("gw%d-%d", run, i)), Side: side, OrdType: engine.Limit, TIF: tif,
			Qty: engine.Qty(q), Price: px}
		for {
			err := v.SubmitOrder(ctx, cmd, venue.Origin{Channel: "bench"})
			if !errors.Is(err, venue.ErrBusy) {
				return err
			}
			time.Sleep(100 * time.Microsecond)
		}
	}, nil
}

func us(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fs", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.2fms", v/1e3)
	}
	return fmt.Sprintf("%.0fµs", v)
}

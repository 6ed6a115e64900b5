package main

// The crash test: the real fxmatch binary as a child process, orders driven
// into it over FIX, SIGKILL at random moments (seeded), restart, and then
// the checks that make "nothing acknowledged is lost" concrete:
//
//   - every order acknowledged (ExecutionReport 150=0 received) and every
//     fill received is in the journal, exactly once;
//   - the journal verifies from genesis (hash chain, byte-for-byte replay,
//     snapshots equal to the replayed state);
//   - the venue restarted on it (recovery = latest snapshot + replay) shows
//     the same book as a replay from genesis.
//
// The client is fixbench's raw FIX 4.4 client on a plain socket, so the
// test depends on nothing but the binary.

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/fix/fixbench"
	"fxmatch/journal/audit"
)

var crashSeed = flag.Uint64("crash-seed", 1, "seed of the crash test's kill moments and orders")

// buildBinary builds cmd/fxmatch once for the test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fxmatch")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

type venueProc struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	fix    string
}

func startProc(t *testing.T, bin, data string) *venueProc {
	t.Helper()
	p := &venueProc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, fix: freePort(t)}
	// The demo with pre-trade scoring off: the fraud scorer rightly
	// blocks this test's burst of orders from a new source, and what is
	// tested here is durability (the bench's configuration: sync).
	cfg, err := benchVenueConfig(config.DurabilitySync, false, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(t.TempDir(), "crash.toml")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "serve", "--config", cfgFile, "--data", data, "--fix-addr", p.fix,
		"--http-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--snapshot-every", "50")
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !checkFor(t, 30*time.Second, func() bool { return strings.Contains(p.stdout.String(), "fxmatch: running") }) {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		t.Fatalf("venue did not start:\n%s\n%s", p.stdout.String(), p.stderr.String())
	}
	return p
}

func (p *venueProc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

func (p *venueProc) stop(t *testing.T) {
	p.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("venue exited with %v:\n%s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("venue did not stop on SIGINT:\n%s", p.stderr.String())
	}
}

// rawFIX is the test's side of a FIX session: fixbench's raw client (the
// load generator's) with the messages turned into maps for the checks.
type rawFIX struct {
	c      *fixbench.Client
	sender string
	in     chan map[int]string
	groups chan []map[int]string // market data entries, per W message
}

func dialFIX(t *testing.T, addr, sender string) *rawFIX {
	t.Helper()
	c, err := fixbench.Dial(context.Background(), addr, fixbench.DialOptions{Sender: sender, Password: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	f := &rawFIX{c: c, sender: sender, in: make(chan map[int]string, 1<<16), groups: make(chan []map[int]string, 16)}
	go f.read()
	return f
}

// send sends body ("tag=value|tag=value", | for SOH) after the header.
func (f *rawFIX) send(msgType, body string) error {
	_ = f.c.Conn().SetWriteDeadline(time.Now().Add(5 * time.Second))
	return f.c.Send(msgType, []byte(strings.ReplaceAll(body, "|", "\x01")+"\x01"))
}

// read turns each message into its fields (the client answers test
// requests itself).
func (f *rawFIX) read() {
	defer close(f.in)
	for {
		msg, err := f.c.Next()
		if err != nil {
			return
		}
		m := map[int]string{}
		var entries []map[int]string
		for tag, v := range msg.Fields() {
			if tag == 269 {
				entries = append(entries, map[int]string{})
			}
			if len(entries) > 0 && (tag == 269 || tag == 270 || tag == 271) {
				entries[len(entries)-1][tag] = string(v)
			}
			m[tag] = string(v)
		}
		if m[35] == "W" {
			f.groups <- entries
			continue
		}
		f.in <- m
	}
}

// acked is what the client was told, which the journal must hold.
type acked struct {
	orders map[string]bool // "PARTY/ClOrdID" → acknowledged (150=0)
	fills  map[string]bool // ExecID of each fill received
}

// drive sends orders as fast as the venue acknowledges them until the
// connection dies (the kill), recording every acknowledgement.
func drive(f *rawFIX, rng *rand.Rand, round int, ack *acked, mu *sync.Mutex) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range f.in {
			if m[35] != "8" {
				continue
			}
			mu.Lock()
			switch m[150] {
			case "0":
				ack.orders[f.sender+"/"+m[11]] = true
			case "F":
				ack.fills[m[17]] = true
			}
			mu.Unlock()
		}
	}()
	for i := 0; ; i++ {
		side := 1 + rng.IntN(2)
		px := 7.0990 + float64(rng.IntN(20))*0.0001
		tif := []string{"0", "1", "3"}[rng.IntN(3)]
		body := fmt.Sprintf("11=r%d-%s-%d|55=USD/CNY|54=%d|60=%s|38=%d|40=2|44=%.4f|59=%s",
			round, f.sender, i, side, time.Now().UTC().Format("20060102-15:04:05.000"),
			100_000*(1+rng.IntN(10)), px, tif)
		if f.send("D", body) != nil {
			break
		}
		// Paced (about 500 orders/s per session): a kill should find
		// orders in every state — sent, sequenced, journaled, acknowledged —
		// not a deep backlog of unread input.
		time.Sleep(2 * time.Millisecond)
	}
	<-done
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	rng := rand.New(rand.NewPCG(*crashSeed, 7))
	t.Logf("crash test seed %d (rerun with -crash-seed %d)", *crashSeed, *crashSeed)
	ack := &acked{orders: map[string]bool{}, fills: map[string]bool{}}
	var mu sync.Mutex
	const rounds = 4
	for round := 0; round < rounds; round++ {
		p := startProc(t, bin, data)
		var wg sync.WaitGroup
		for k, who := range []string{"BANKA", "BANKB"} {
			f := dialFIX(t, p.fix, who)
			r := rand.New(rand.NewPCG(*crashSeed, uint64(round*2+k)))
			wg.Go(func() { drive(f, r, round, ack, &mu) })
		}
		// Kill at a random moment while orders stream in.
		time.Sleep(time.Duration(800+rng.IntN(1500)) * time.Millisecond)
		p.kill()
		wg.Wait()
		mu.Lock()
		t.Logf("round %d: %d orders acknowledged so far", round, len(ack.orders))
		mu.Unlock()
	}
	mu.Lock()
	t.Logf("%d orders and %d fills acknowledged over %d kills", len(ack.orders), len(ack.fills), rounds)
	if len(ack.orders) < 40 {
		t.Fatalf("only %d orders acknowledged: the test did not exercise the venue", len(ack.orders))
	}

	// The journal verifies from genesis.
	out, err := exec.Command(bin, "replay", "verify", "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("replay verify after the kills: %v\n%s", err, out)
	}

	// Every acknowledged order and fill is journaled, exactly once.
	j, err := audit.Open(filepath.Join(data, "journal"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seenOrders := map[string]int{}
	seenFills := map[string]int{}
	err = j.OrderEvents(func(ev *audit.Event) error {
		switch ev.Kind {
		case engine.EvAccepted:
			seenOrders[ev.Participant+"/"+ev.ClOrdID.String()]++
		case engine.EvFill:
			seenFills[strconv.FormatUint(ev.ExecID, 10)]++
		}
		return nil
	})
	j.Close()
	if err != nil {
		t.Fatal(err)
	}
	for k := range ack.orders {
		if seenOrders[k] != 1 {
			t.Errorf("acknowledged order %s is journaled %d times", k, seenOrders[k])
		}
	}
	for k := range ack.fills {
		if seenFills[k] != 1 {
			t.Errorf("fill with ExecID %s was reported but is journaled %d times", k, seenFills[k])
		}
	}
	for k, n := range seenOrders {
		if n != 1 {
			t.Errorf("order %s accepted %d times in the journal", k, n)
		}
	}
	mu.Unlock()

	// The restarted venue (snapshot + replay) shows the book a replay from
	// genesis gives.
	j, err = audit.Open(filepath.Join(data, "journal"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := j.BookAtSeq("USD/CNY", j.ShardInfo(0).Head.Seq)
	j.Close()
	if err != nil {
		t.Fatal(err)
	}
	p := startProc(t, bin, data)
	f := dialFIX(t, p.fix, "BANKC")
	f.send("V", "262=md1|263=0|264=0|267=2|269=0|269=1|146=1|55=USD/CNY")
	var got []map[int]string
	select {
	case got = <-f.groups:
	case <-time.After(10 * time.Second):
		t.Fatal("no market data snapshot after restart")
	}
	p.stop(t)
	var gotBids, gotAsks []string
	for _, e := range got {
		line := e[270] + " " + e[271]
		if e[269] == "0" {
			gotBids = append(gotBids, line)
		} else {
			gotAsks = append(gotAsks, line)
		}
	}
	levels := func(ls []engine.Level) []string {
		var out []string
		for _, l := range ls {
			out = append(out, engine.FormatPrice(l.Price, 4)+" "+strconv.FormatInt(int64(l.Qty), 10))
		}
		return out
	}
	norm := func(ss []string) string {
		var b bytes.Buffer
		for _, s := range ss {
			px, qty, _ := strings.Cut(s, " ")
			p, _ := engine.ParsePrice(px)
			fmt.Fprintf(&b, "%s %s\n", engine.FormatPrice(p, 4), qty)
		}
		return b.String()
	}
	if norm(gotBids) != norm(levels(want.Bids)) || norm(gotAsks) != norm(levels(want.Asks)) {
		t.Fatalf("recovered venue's book differs from the replay from genesis:\nvenue bids:\n%s\nreplay bids:\n%s\nvenue asks:\n%s\nreplay asks:\n%s",
			norm(gotBids), norm(levels(want.Bids)), norm(gotAsks), norm(levels(want.Asks)))
	}
	t.Logf("recovered book: %d bid and %d ask levels, equal to the replay from genesis", len(want.Bids), len(want.Asks))
}

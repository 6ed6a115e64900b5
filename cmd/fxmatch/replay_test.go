package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/journal"
	"fxmatch/journal/audit/audittest"
)

// The replay commands run on the journal the real venue wrote for the
// audit tests' scenario (journal/audit/audittest). Their outputs must be
// byte for byte the golden files of package journal/audit, which are
// made by the same writers: the command line adds nothing but flags.

const auditGolden = "../../journal/audit/testdata"

func readGolden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(auditGolden, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// stepHeads are the shards' heads after the named step.
func stepHeads(t *testing.T, res *audittest.Result, name string) []uint64 {
	for _, s := range res.Steps {
		if s.Name == name {
			return s.Heads
		}
	}
	t.Fatalf("no step %q", name)
	return nil
}

func TestReplayCommands(t *testing.T) {
	res := audittest.Run(t, filepath.Join(t.TempDir(), "fxmatch-data"))
	data := res.DataDir
	seq := strconv.FormatUint(stepHeads(t, res, "a2r replaced down to a2rr (keeps priority)")[0], 10)
	for _, tc := range []struct {
		name   string
		args   []string
		golden string
	}{
		{"verify", []string{"replay", "verify", "--data", data}, "verify.txt"},
		{"verify --journal", []string{"replay", "verify", "--journal", res.JournalDir}, "verify.txt"},
		{"book", []string{"replay", "book", "--data", data, "--symbol", "USD/CNY", "--seq", seq}, "book.txt"},
		{"book -json", []string{"replay", "book", "-data=" + data, "-symbol=USD/CNY", "-seq=" + seq, "-json"}, "book.json"},
		{"order by clordid", []string{"replay", "order", "--data", data, "--participant", "BANKA", "--clordid", "a1"}, "orders-a1.txt"},
		{"order by clordid json", []string{"replay", "order", "--data", data, "--participant", "BANKA", "--clordid", "a1", "--json"}, "orders-a1.json"},
		{"trades", []string{"replay", "trades", "--data", data}, "trades.csv"},
		{"trades json", []string{"replay", "trades", "--data", data, "--json"}, "trades.jsonl"},
		{"export", []string{"replay", "export", "--data", data}, "export.jsonl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCmd(t, "", tc.args...)
			if code != exitOK || errs != "" {
				t.Fatalf("exit %d, stderr:\n%s", code, errs)
			}
			if want := readGolden(t, tc.golden); out != want {
				t.Fatalf("stdout differs from %s:\n%s\nwant:\n%s", tc.golden, out, want)
			}
		})
	}

	t.Run("default data dir", func(t *testing.T) {
		want := readGolden(t, "verify.txt")
		t.Chdir(filepath.Dir(data))
		code, out, errs := runCmd(t, "", "replay", "verify")
		if code != exitOK || out != want {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
	})

	t.Run("book at a time", func(t *testing.T) {
		// Half a second after the step: the book after its command.
		var at time.Time
		for _, s := range res.Steps {
			if s.Name == "a2r replaced down to a2rr (keeps priority)" {
				at = s.Time.Add(500 * time.Millisecond)
			}
		}
		code, out, errs := runCmd(t, "", "replay", "book", "--data", data, "--symbol", "USD/CNY", "--at", at.Format(time.RFC3339Nano))
		want := readGolden(t, "book.txt")
		head, rest, _ := strings.Cut(want, "\n")
		if code != exitOK || !strings.HasPrefix(out, head+"\nas of "+at.Format("2006-01-02T15:04:05.000000Z")) || !strings.HasSuffix(out, rest) {
			t.Fatalf("exit %d, stdout:\n%s\nstderr: %s", code, out, errs)
		}
		// The same moment written with an offset.
		ny := at.In(time.FixedZone("EST", -5*3600)).Format(time.RFC3339Nano)
		code, out2, _ := runCmd(t, "", "replay", "book", "--data", data, "--symbol", "USD/CNY", "--at", ny)
		if code != exitOK || out2 != out {
			t.Fatalf("--at %s: exit %d\n%s", ny, code, out2)
		}
	})

	t.Run("order by id", func(t *testing.T) {
		code, out, errs := runCmd(t, "", "replay", "order", "--data", data, "--order-id", "2")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errs)
		}
		for _, want := range []string{"order 2 of BANKA: sell USD/CNY, limit day, shard 0", "replaced  a2r      a2", "replaced  a2rr     a2r", "expired   a2rr", "day-end"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q in:\n%s", want, out)
			}
		}
		// An order of shard 1: its id carries the shard.
		code, out, _ = runCmd(t, "", "replay", "order", "--data", data, "--order-id", strconv.FormatUint(1<<48|1, 10), "--json")
		var lives []map[string]any
		if code != exitOK || json.Unmarshal([]byte(out), &lives) != nil || len(lives) != 1 || lives[0]["symbol"] != "USD/JPY" {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})

	t.Run("trades filtered", func(t *testing.T) {
		code, out, errs := runCmd(t, "", "replay", "trades", "--data", data, "--symbol", "USD/CNY",
			"--from", "2026-03-03T14:30:05Z", "--to", "2026-03-03T22:00:08.000875Z")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != exitOK || len(lines) != 3 || !strings.HasPrefix(lines[0], "trade_id,time,") ||
			!strings.HasPrefix(lines[1], "2,") || !strings.HasPrefix(lines[2], "3,") {
			t.Fatalf("exit %d, stderr %s, stdout:\n%s", code, errs, out)
		}
	})

	t.Run("export to a file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "orders.jsonl")
		code, out, errs := runCmd(t, "", "replay", "export", "--data", data, "--out", path)
		got, _ := os.ReadFile(path)
		if code != exitOK || out != "" || string(got) != readGolden(t, "export.jsonl") || !strings.Contains(errs, "order events written to "+path) {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
		}
	})

	t.Run("bad values", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"replay"}, "which command"},
			{[]string{"replay", "rewind"}, `unknown command "rewind"`},
			{[]string{"replay", "book", "--data", data, "--seq", "1"}, "--symbol is required"},
			{[]string{"replay", "book", "--data", data, "--symbol", "USD/CNY"}, "exactly one of --at TIME and --seq N"},
			{[]string{"replay", "book", "--data", data, "--symbol", "USD/CNY", "--seq", "1", "--at", "2026-03-03T14:30:00Z"}, "exactly one"},
			{[]string{"replay", "book", "--data", data, "--symbol", "USD/CNY", "--at", "yesterday"}, `--at "yesterday" is not an RFC 3339 time`},
			{[]string{"replay", "book", "--data", data, "--symbol", "USD/CNY", "--seq", "-1"}, `invalid value "-1" for flag -seq`},
			{[]string{"replay", "book", "--data", data, "--symbol", "GBP/USD", "--seq", "1"}, `unknown symbol "GBP/USD"`},
			{[]string{"replay", "book", "--data", data, "--symbol", "USD/JPY", "--seq", "99"}, "shard 1 has records up to seq 5, not 99"},
			{[]string{"replay", "book", "--data", data, "--journal", res.JournalDir, "--symbol", "USD/JPY", "--seq", "1"}, "--data or --journal, not both"},
			{[]string{"replay", "verify", "--data", filepath.Join(t.TempDir(), "nothing")}, "no journal directory"},
			{[]string{"replay", "verify", "--data", data, "extra"}, `unexpected argument "extra"`},
			{[]string{"replay", "order", "--data", data}, "give --order-id ID, or --participant P with --clordid X"},
			{[]string{"replay", "order", "--data", data, "--order-id", "x1"}, `invalid value "x1" for flag -order-id`},
			{[]string{"replay", "order", "--data", data, "--participant", "BANKA"}, "go together"},
			{[]string{"replay", "order", "--data", data, "--participant", "BANKZ", "--clordid", "a1"}, `unknown participant "BANKZ"`},
			{[]string{"replay", "order", "--data", data, "--participant", "BANKA", "--clordid", strings.Repeat("x", 48)}, "longer than 47 bytes"},
			{[]string{"replay", "trades", "--data", data, "--from", "2026-03-03"}, `--from "2026-03-03" is not an RFC 3339 time`},
			{[]string{"replay", "trades", "--data", data, "--from", "2026-03-04T00:00:00Z", "--to", "2026-03-03T00:00:00Z"}, "is not before --to"},
			{[]string{"replay", "trades", "--data", data, "--symbol", "XAU/USD"}, `unknown symbol "XAU/USD"`},
			{[]string{"journal"}, "which command"},
			{[]string{"journal", "checkpoint", "--data", data}, "--to DIR is required"},
			{[]string{"journal", "checkpoint", "--data", data, "--to", data}, "already exists"},
		} {
			code, out, errs := runCmd(t, "", tc.args...)
			if code != exitUsage || !strings.Contains(errs, tc.want) || out != "" {
				t.Errorf("%q: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and %q", tc.args, code, out, errs, tc.want)
			}
		}
		// Well-formed but absent: not the command line's fault.
		code, _, errs := runCmd(t, "", "replay", "order", "--data", data, "--order-id", "999")
		if code != exitFail || !strings.Contains(errs, "no such order") {
			t.Errorf("absent order: exit %d, %s", code, errs)
		}
	})

	t.Run("help", func(t *testing.T) {
		for _, args := range [][]string{{"replay", "-h"}, {"replay", "book", "-h"}, {"journal", "-h"}, {"help"}} {
			code, out, _ := runCmd(t, "", args...)
			if code != exitOK || !strings.Contains(out, "usage: fxmatch") {
				t.Errorf("%q: exit %d\n%s", args, code, out)
			}
		}
	})
}

// TestReplayVerifyBroken: verify on a copy with one record's byte flipped
// exits 1 and names the shard and sequence.
func TestReplayVerifyBroken(t *testing.T) {
	res := audittest.Run(t, filepath.Join(t.TempDir(), "data"))
	dir := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(dir, os.DirFS(res.JournalDir)); err != nil {
		t.Fatal(err)
	}
	// Flip a byte in the payload of the record of shard 0, seq 7 (each
	// scripted command was committed alone: its own block).
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	k := journal.BlockKey(0, 7)
	v, c, err := db.Get(k[:])
	if err != nil {
		t.Fatal(err)
	}
	v = slices.Clone(v)
	c.Close()
	if n, _ := binary.Uvarint(v[1:]); n != 1 {
		t.Fatalf("block 7 holds %d records", n)
	}
	v[len(v)-journal.HashSize-3] ^= 0x20 // near the end of the payload
	if err := db.Set(k[:], v, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()

	code, out, errs := runCmd(t, "", "replay", "verify", "--journal", dir)
	if code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	for _, want := range []string{"BROKEN at seq 7", "verify: FAILED: the first break is at shard 0 seq 7", "hash mismatch at shard 0 seq 7"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "first at shard 0 seq 7") {
		t.Errorf("stderr: %s", errs)
	}
	// The other shard is reported intact, with its head.
	if !strings.Contains(out, "USD/JPY                         5") {
		t.Errorf("shard 1 not reported:\n%s", out)
	}
}

// TestJournalCheckpoint: a stopped venue's journal is copied, and the copy
// verifies with the same heads; a running venue's journal is refused with
// the reason.
func TestJournalCheckpoint(t *testing.T) {
	res := audittest.Run(t, filepath.Join(t.TempDir(), "data"))
	to := filepath.Join(t.TempDir(), "cp")
	code, out, errs := runCmd(t, "", "journal", "checkpoint", "--data", res.DataDir, "--to", to)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"written to " + to, "shard 0  head seq 23  chain head hash 1d05", "shard 1  head seq 5", "fxmatch replay verify --journal " + to} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = runCmd(t, "", "replay", "verify", "--journal", to)
	if code != exitOK || out != readGolden(t, "verify.txt") {
		t.Fatalf("verify of the checkpoint: exit %d\n%s%s", code, out, errs)
	}

	// A running venue holds the journal: checkpoint and replay say why
	// they cannot open it.
	v, err := venue.Open(venue.Options{Config: res.Config, DataDir: res.DataDir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: func() int64 { return audittest.RollAt.UnixNano() + 1e10 }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	defer func() { cancel(); <-done }()
	code, _, errs = runCmd(t, "", "journal", "checkpoint", "--data", res.DataDir, "--to", filepath.Join(t.TempDir(), "cp2"))
	if code != exitFail || !strings.Contains(errs, "locked by a running venue") {
		t.Errorf("checkpoint of a running venue: exit %d, %s", code, errs)
	}
	code, _, errs = runCmd(t, "", "replay", "verify", "--data", res.DataDir)
	if code != exitFail || !strings.Contains(errs, "is the venue running?") {
		t.Errorf("verify of a running venue: exit %d, %s", code, errs)
	}
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)           {}
func (quietPebble) Errorf(string, ...any)          {}
func (quietPebble) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }

// TestProgressBar: drawn on a terminal after a moment, erased at the end;
// never drawn when standard error is not a terminal.
func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := &progressBar{w: &b, label: "replay verify", start: time.Now().Add(-time.Second)}
	p.update(500, 1000)
	if got := b.String(); !strings.Contains(got, "replay verify [===============               ]  50%  500/1000 records") {
		t.Fatalf("bar: %q", got)
	}
	p.update(600, 1000) // within 100ms: not redrawn
	p.clear()
	if !strings.HasSuffix(b.String(), "\r\033[K") || strings.Contains(b.String(), "600/") {
		t.Fatalf("after clear: %q", b.String())
	}
	quick := &progressBar{w: &b, start: time.Now()}
	b.Reset()
	quick.update(1, 2)
	quick.clear()
	if b.Len() != 0 {
		t.Fatalf("a quick walk drew %q", b.String())
	}
	if isTerminal(&b) {
		t.Fatal("a buffer is a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Fatal("a file is a terminal")
	}
}

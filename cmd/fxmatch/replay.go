package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"fxmatch/engine"
	"fxmatch/journal"
	"fxmatch/journal/audit"
)

// The regulator's tools: `fxmatch replay …` reads a journal (or a
// checkpoint of one) read-only through package journal/audit, which
// rebuilds every shard's engine from the journal alone; `fxmatch journal
// checkpoint` copies a stopped venue's journal. Everything that is not a
// command-line concern — the replay, the checks, the output formats —
// lives in journal/audit.

const replayUsage = `usage: fxmatch replay COMMAND [flags]

Read-only tools for regulators and auditors. They read a journal directory,
or a checkpoint of one (fxmatch journal checkpoint), and need no
configuration file: the journal holds the configuration it was written
under. A running venue's journal cannot be opened (it is locked): read a
checkpoint.

Commands:
  book    --symbol S (--at TIME | --seq N) [--json]
          the book of a pair (L2 levels, then every resting order in
          priority order, L3) after the last command at or before TIME,
          or after command N of the pair's shard
  order   (--order-id ID | --participant P --clordid X) [--json]
          an order's whole life, every event with its time and sequence;
          by ClOrdID: every order P ever named X (ClOrdIDs are unique per
          trading day only, and change on replace)
  trades  [--symbol S] [--from TIME] [--to TIME] [--json]
          every trade with both counterparties, as CSV with a header (or
          JSON lines); --from inclusive, --to exclusive
  verify  check every shard's hash chain from genesis, re-execute every
          command and compare its events byte for byte with the journal,
          compare every snapshot with the replayed state; print each
          shard's head sequence and chain head hash; exit 1 naming the
          first bad shard and sequence on any break
  export  [--out FILE]
          every order event as JSON lines (participant, order id, ClOrdID,
          side, pair, price, quantity, order type, time in force, event,
          reason, microsecond UTC time, sequence, …) to FILE or stdout

Flags of every command:
  --data DIR      the venue's data directory; the journal is DIR/journal
                  (default ./fxmatch-data)
  --journal DIR   a journal directory or checkpoint, instead of --data

TIME is RFC 3339, e.g. 2026-03-03T14:30:00Z or 2026-03-03T14:30:00.000125Z
(an offset such as -05:00 is converted); output times are UTC with
microseconds. Long runs draw a progress bar on standard error when it is a
terminal.
`

const journalUsage = `usage: fxmatch journal checkpoint [--data DIR | --journal DIR] --to DIR

Writes a consistent copy of a STOPPED venue's journal into DIR (which must
not exist), for fxmatch replay to read at leisure. A running venue holds its
journal locked, so it takes its own checkpoint: send it SIGUSR1
(kill -USR1 <pid>) and it writes one to <data>/checkpoints/<UTC time> and
logs the directory and each shard's head.

Flags:
  --data DIR      the venue's data directory (default ./fxmatch-data)
  --journal DIR   the journal directory itself, instead of --data
  --to DIR        where to write the checkpoint (must not exist)
`

// defaultDataDir is where serve keeps its data with the demo configuration.
const defaultDataDir = "fxmatch-data"

// journalFlags are the flags naming the journal to read.
type journalFlags struct {
	data, journal string
}

func (f *journalFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", "", "")
	fs.StringVar(&f.journal, "journal", "", "")
}

// dir is the journal directory the flags name.
func (f *journalFlags) dir() (string, error) {
	switch {
	case f.data != "" && f.journal != "":
		return "", fmt.Errorf("give --data or --journal, not both")
	case f.journal != "":
		return f.journal, nil
	case f.data != "":
		return filepath.Join(f.data, "journal"), nil
	}
	return filepath.Join(defaultDataDir, "journal"), nil
}

// replayCmd is one run of a replay subcommand: its name for messages, its
// streams and its flag set.
type replayCmd struct {
	name   string
	stdout io.Writer
	stderr io.Writer
	fs     *flag.FlagSet
	jf     journalFlags
	bar    *progressBar
}

func newReplayCmd(name string, stdout, stderr io.Writer) *replayCmd {
	c := &replayCmd{name: name, stdout: stdout, stderr: stderr}
	c.fs = flag.NewFlagSet(name, flag.ContinueOnError)
	c.fs.SetOutput(io.Discard) // errors are reported by usage, with the value
	c.jf.add(c.fs)
	return c
}

// parse parses args; ok false means return code.
func (c *replayCmd) parse(args []string) (code int, ok bool) {
	if err := c.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, replayUsage)
			return exitOK, false
		}
		return c.usage("%v", err), false
	}
	if c.fs.NArg() > 0 {
		return c.usage("unexpected argument %q (flags only)", c.fs.Arg(0)), false
	}
	return exitOK, true
}

// usage reports a wrong command line or value, naming it: exit 2.
func (c *replayCmd) usage(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "fxmatch %s: "+format+"\n(fxmatch replay -h for help)\n", append([]any{c.name}, args...)...)
	return exitUsage
}

// fail reports a failure: exit 1.
func (c *replayCmd) fail(err error) int {
	fmt.Fprintf(c.stderr, "fxmatch %s: %v\n", c.name, err)
	return exitFail
}

// open opens the journal the flags name.
func (c *replayCmd) open() (*audit.Journal, int, bool) {
	dir, err := c.jf.dir()
	if err != nil {
		return nil, c.usage("%v", err), false
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, c.usage("no journal directory %q (give the venue's --data DIR, or --journal DIR)", dir), false
	}
	opts := audit.Options{Logger: slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if isTerminal(c.stderr) {
		c.bar = &progressBar{w: c.stderr, label: c.name, start: time.Now()}
		opts.Progress = c.bar.update
	}
	j, err := audit.Open(dir, opts)
	if err != nil {
		if locked(err) {
			err = fmt.Errorf("%w\nthe journal is locked: is the venue running? A running venue's journal cannot be read; read a checkpoint of it", err)
		}
		return nil, c.fail(err), false
	}
	return j, exitOK, true
}

// done clears the progress bar.
func (c *replayCmd) done() {
	if c.bar != nil {
		c.bar.clear()
	}
}

// queryError maps an audit error to an exit: a value the journal does
// not know (pair, participant, sequence) is the command line's fault.
func (c *replayCmd) queryError(err error) int {
	c.done()
	if errors.Is(err, audit.ErrUnknownSymbol) || errors.Is(err, audit.ErrUnknownParticipant) || errors.Is(err, audit.ErrBeyondHead) {
		return c.usage("%v", err)
	}
	return c.fail(err)
}

// locked reports whether err is Pebble's lock refusal (another process,
// or this one, has the journal open).
func locked(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) || strings.Contains(err.Error(), "lock held")
}

// parseTime parses a TIME flag value.
func parseTime(flagName, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, fmt.Errorf("--%s %q is not an RFC 3339 time (e.g. 2026-03-03T14:30:00Z)", flagName, s)
	}
	return t.UTC(), nil
}

// runReplay is `fxmatch replay SUBCOMMAND`.
func runReplay(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "fxmatch replay: which command? (book, order, trades, verify or export)\n\n%s", replayUsage)
		return exitUsage
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "book":
		return replayBook(rest, stdout, stderr)
	case "order":
		return replayOrder(rest, stdout, stderr)
	case "trades":
		return replayTrades(rest, stdout, stderr)
	case "verify":
		return replayVerify(rest, stdout, stderr)
	case "export":
		return replayExport(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, replayUsage)
		return exitOK
	}
	fmt.Fprintf(stderr, "fxmatch replay: unknown command %q (want book, order, trades, verify or export)\n\n%s", sub, replayUsage)
	return exitUsage
}

func replayBook(args []string, stdout, stderr io.Writer) int {
	c := newReplayCmd("replay book", stdout, stderr)
	symbol := c.fs.String("symbol", "", "")
	at := c.fs.String("at", "", "")
	seq := c.fs.Uint64("seq", 0, "")
	asJSON := c.fs.Bool("json", false, "")
	if code, ok := c.parse(args); !ok {
		return code
	}
	seqGiven := false
	c.fs.Visit(func(f *flag.Flag) { seqGiven = seqGiven || f.Name == "seq" })
	var when time.Time
	switch {
	case *symbol == "":
		return c.usage("--symbol is required (e.g. --symbol USD/CNY)")
	case (*at == "") == !seqGiven:
		return c.usage("give exactly one of --at TIME and --seq N")
	case *at != "":
		var err error
		if when, err = parseTime("at", *at); err != nil {
			return c.usage("%v", err)
		}
	}
	j, code, ok := c.open()
	if !ok {
		return code
	}
	defer j.Close()
	var b *audit.Book
	var err error
	if seqGiven {
		b, err = j.BookAtSeq(*symbol, *seq)
	} else {
		b, err = j.BookAtTime(*symbol, when)
	}
	if err != nil {
		return c.queryError(err)
	}
	c.done()
	if *asJSON {
		err = audit.WriteBookJSON(stdout, b)
	} else {
		err = audit.WriteBookText(stdout, b)
	}
	if err != nil {
		return c.fail(err)
	}
	return exitOK
}

func replayOrder(args []string, stdout, stderr io.Writer) int {
	c := newReplayCmd("replay order", stdout, stderr)
	orderID := c.fs.Uint64("order-id", 0, "")
	participant := c.fs.String("participant", "", "")
	clOrdID := c.fs.String("clordid", "", "")
	asJSON := c.fs.Bool("json", false, "")
	if code, ok := c.parse(args); !ok {
		return code
	}
	byID := *orderID != 0
	byClOrdID := *participant != "" || *clOrdID != ""
	switch {
	case byID == byClOrdID:
		return c.usage("give --order-id ID, or --participant P with --clordid X")
	case byClOrdID && (*participant == "" || *clOrdID == ""):
		return c.usage("--participant and --clordid go together")
	case byClOrdID && len(*clOrdID) > engine.MaxIDLen:
		return c.usage("--clordid %q is longer than %d bytes", *clOrdID, engine.MaxIDLen)
	}
	j, code, ok := c.open()
	if !ok {
		return code
	}
	defer j.Close()
	var lives []*audit.OrderLife
	var err error
	if byID {
		var l *audit.OrderLife
		if l, err = j.OrderByID(engine.OrderID(*orderID)); err == nil {
			lives = []*audit.OrderLife{l}
		}
	} else {
		lives, err = j.OrdersByClOrdID(*participant, *clOrdID)
	}
	if err != nil {
		return c.queryError(err)
	}
	c.done()
	if *asJSON {
		err = audit.WriteOrdersJSON(stdout, lives)
	} else {
		err = audit.WriteOrdersText(stdout, lives)
	}
	if err != nil {
		return c.fail(err)
	}
	return exitOK
}

func replayTrades(args []string, stdout, stderr io.Writer) int {
	c := newReplayCmd("replay trades", stdout, stderr)
	symbol := c.fs.String("symbol", "", "")
	from := c.fs.String("from", "", "")
	to := c.fs.String("to", "", "")
	asJSON := c.fs.Bool("json", false, "")
	if code, ok := c.parse(args); !ok {
		return code
	}
	var f audit.TradeFilter
	f.Symbol = *symbol
	var err error
	if *from != "" {
		if f.From, err = parseTime("from", *from); err != nil {
			return c.usage("%v", err)
		}
	}
	if *to != "" {
		if f.To, err = parseTime("to", *to); err != nil {
			return c.usage("%v", err)
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return c.usage("--from %s is not before --to %s", *from, *to)
	}
	j, code, ok := c.open()
	if !ok {
		return code
	}
	defer j.Close()
	w := bufio.NewWriter(stdout)
	var write func(*audit.Trade) error
	var flush func() error
	var cw *csv.Writer // nil for JSON
	if *asJSON {
		var line []byte
		write = func(t *audit.Trade) error {
			line = append(audit.AppendTradeJSON(line[:0], t), '\n')
			_, err := w.Write(line)
			return err
		}
		flush = w.Flush
	} else {
		// The header goes out with the first trade (or at a clean end), so
		// a refused query prints nothing on stdout.
		cw = csv.NewWriter(w)
		header := false
		writeHeader := func() error {
			if header {
				return nil
			}
			header = true
			return cw.Write(audit.TradeCSVHeader)
		}
		write = func(t *audit.Trade) error {
			if err := writeHeader(); err != nil {
				return err
			}
			return cw.Write(audit.TradeCSVRecord(t))
		}
		flush = func() error {
			if err := writeHeader(); err != nil {
				return err
			}
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
			return w.Flush()
		}
	}
	if err := j.Trades(f, write); err != nil {
		// What was written before a break is sound: let it out.
		if cw != nil {
			cw.Flush()
		}
		w.Flush()
		return c.queryError(err)
	}
	if err := flush(); err != nil {
		return c.fail(err)
	}
	c.done()
	return exitOK
}

func replayVerify(args []string, stdout, stderr io.Writer) int {
	c := newReplayCmd("replay verify", stdout, stderr)
	if code, ok := c.parse(args); !ok {
		return code
	}
	j, code, ok := c.open()
	if !ok {
		return code
	}
	defer j.Close()
	rep, err := j.Verify()
	c.done()
	if err != nil {
		return c.fail(err)
	}
	if err := audit.WriteVerifyText(stdout, rep); err != nil {
		return c.fail(err)
	}
	if err := rep.Err(); err != nil {
		shard, seq, _ := journal.BadSeq(err)
		fmt.Fprintf(stderr, "fxmatch replay verify: the journal is broken: first at shard %d seq %d: %v\n", shard, seq, err)
		return exitFail
	}
	return exitOK
}

func replayExport(args []string, stdout, stderr io.Writer) int {
	c := newReplayCmd("replay export", stdout, stderr)
	out := c.fs.String("out", "", "")
	if code, ok := c.parse(args); !ok {
		return code
	}
	j, code, ok := c.open()
	if !ok {
		return code
	}
	defer j.Close()
	dst := stdout
	var file *os.File
	if *out != "" {
		var err error
		if file, err = os.Create(*out); err != nil {
			return c.fail(err)
		}
		dst = file
	}
	w := bufio.NewWriterSize(dst, 1<<16)
	var line []byte
	var n int
	err := j.OrderEvents(func(ev *audit.Event) error {
		line = append(audit.AppendEventJSON(line[:0], ev), '\n')
		n++
		_, err := w.Write(line)
		return err
	})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	c.done()
	if err != nil {
		return c.fail(err)
	}
	if file != nil {
		fmt.Fprintf(stderr, "fxmatch replay export: %d order events written to %s\n", n, *out)
	}
	return exitOK
}

// runJournal is `fxmatch journal SUBCOMMAND`: today, checkpoint.
func runJournal(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, journalUsage)
		return exitOK
	}
	if len(args) == 0 || args[0] != "checkpoint" {
		if len(args) == 0 {
			fmt.Fprintf(stderr, "fxmatch journal: which command? (checkpoint)\n\n%s", journalUsage)
		} else {
			fmt.Fprintf(stderr, "fxmatch journal: unknown command %q (want checkpoint)\n\n%s", args[0], journalUsage)
		}
		return exitUsage
	}
	c := newReplayCmd("journal checkpoint", stdout, stderr)
	to := c.fs.String("to", "", "")
	if err := c.fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, journalUsage)
			return exitOK
		}
		return c.usage("%v", err)
	}
	if c.fs.NArg() > 0 {
		return c.usage("unexpected argument %q (flags only)", c.fs.Arg(0))
	}
	src, err := c.jf.dir()
	if err != nil {
		return c.usage("%v", err)
	}
	switch {
	case *to == "":
		return c.usage("--to DIR is required (where to write the checkpoint)")
	case pathExists(*to):
		return c.usage("--to %q already exists; a checkpoint goes into a new directory", *to)
	}
	if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
		return c.usage("no journal directory %q (give the venue's --data DIR, or --journal DIR)", src)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Open read-only first: it refuses a directory that is not a journal
	// (journal.Open would make one) and one a running venue holds.
	rd, err := journal.OpenReader(src, journal.ReaderOptions{Options: journal.Options{Logger: logger}})
	if err != nil {
		if locked(err) {
			return c.fail(fmt.Errorf("%w\nthe journal is locked by a running venue: ask the venue for a live checkpoint with SIGUSR1 (kill -USR1 <pid>); it writes it to <data>/checkpoints/<UTC time> and logs where", err))
		}
		return c.fail(err)
	}
	rd.Close()
	j, err := journal.Open(src, journal.Options{Logger: logger})
	if err != nil {
		if locked(err) {
			return c.fail(fmt.Errorf("%w\nthe venue was started meanwhile: stop it and run this again", err))
		}
		return c.fail(err)
	}
	err = j.Checkpoint(*to)
	if cerr := j.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return c.fail(err)
	}
	// Report what the copy holds, from the copy, so the operator can note
	// the heads down (and compare them with a later replay verify).
	cp, err := journal.OpenReader(*to, journal.ReaderOptions{Options: journal.Options{Logger: logger}})
	if err != nil {
		return c.fail(fmt.Errorf("the checkpoint was written but cannot be read back: %w", err))
	}
	defer cp.Close()
	shards, err := cp.Shards()
	if err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(stdout, "checkpoint of %s written to %s\n", src, *to)
	for _, s := range shards {
		h, err := cp.Head(s)
		if err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(stdout, "  shard %d  head seq %d  chain head hash %x\n", s, h.Seq, h.Hash)
	}
	fmt.Fprintf(stdout, "prove it with: fxmatch replay verify --journal %s\n", *to)
	return exitOK
}

func pathExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// progressBar draws a walk's progress on a terminal, at most ten times a
// second, and only once a walk has run for a moment (a quick query never
// flickers).
type progressBar struct {
	w     io.Writer
	label string
	start time.Time
	last  time.Time
	drawn bool
}

const (
	progressDelay = 300 * time.Millisecond
	progressEvery = 100 * time.Millisecond
	progressWidth = 30
)

func (p *progressBar) update(done, total uint64) {
	now := time.Now()
	if now.Sub(p.start) < progressDelay || now.Sub(p.last) < progressEvery || total == 0 {
		return
	}
	p.last = now
	frac := min(float64(done)/float64(total), 1)
	n := int(frac * progressWidth)
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%%  %d/%d records", p.label,
		strings.Repeat("=", n), strings.Repeat(" ", progressWidth-n), frac*100, done, total)
	p.drawn = true
}

// clear erases the bar so that what follows starts on a clean line.
func (p *progressBar) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

// isTerminal reports whether w is a terminal (a character device): the
// progress bar is for people watching, not for pipes and files.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

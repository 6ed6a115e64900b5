package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"time"

	"fxmatch/engine"
	"fxmatch/journal"
)

// Errors of the package. Errors about one record are *journal.SeqError
// values wrapping ErrReplayMismatch or ErrSnapshotMismatch (or one of
// journal's sentinels), so errors.Is matches and journal.BadSeq gives the
// shard and sequence.
var (
	// ErrReplayMismatch: re-executing a journaled command did not produce
	// the journaled events (or the engine refused the command).
	ErrReplayMismatch = errors.New("audit: replay does not reproduce the journal")
	// ErrSnapshotMismatch: a stored snapshot is not the state the replay
	// reached at its sequence.
	ErrSnapshotMismatch = errors.New("audit: snapshot does not match the replayed state")
	// ErrNoConfig: the journal lacks, or has an unreadable, configuration
	// record; nothing can be replayed.
	ErrNoConfig = errors.New("audit: the journal holds no usable configuration")
	// ErrUnknownSymbol: no shard trades the pair.
	ErrUnknownSymbol = errors.New("audit: unknown symbol")
	// ErrUnknownParticipant: the configuration has no such participant.
	ErrUnknownParticipant = errors.New("audit: unknown participant")
	// ErrNotFound: no order matches.
	ErrNotFound = errors.New("audit: no such order")
	// ErrBeyondHead: a sequence after the shard's last record.
	ErrBeyondHead = errors.New("audit: sequence beyond the journal's head")
	// ErrStopped: Options.Context ended before the walk did (the error
	// also wraps the context's error).
	ErrStopped = errors.New("audit: stopped before the end")
)

// The metadata the venue writes (cmd/fxmatch/venue: checkConfig,
// genesisKey). The names are the venue's; the tests build their journals
// with the real venue, so a rename there fails here.
const metaConfig = journal.MetaConfig

func genesisKey(shard int) string { return journal.MetaGenesisTradeDate(shard) }

// placeholderDate is the trade date given to the engine of a shard that
// has no records and no genesis date: an engine must have a valid date,
// and nothing will be replayed into it.
const placeholderDate engine.Date = 20000103

// progressEvery is how many records pass between two Progress calls.
const progressEvery = 1 << 12

// Options configures Open and FromReader.
type Options struct {
	// Logger receives Pebble's messages (nil: slog.Default()).
	Logger *slog.Logger
	// Progress, if not nil, is called during long walks (Verify, Export,
	// Trades, the replay behind a book) with the records done and the
	// records the walk expects, every few thousand records and once at
	// the end. It runs on the caller's goroutine and must be quick.
	Progress func(done, total uint64)
	// Context, if not nil, bounds the long walks: once it is done they
	// stop within a few thousand records and return an error wrapping
	// ErrStopped and the context's error (Verify also returns what it
	// proved so far). The gateway uses it to time-bound a regulator's
	// query on a live venue; the command-line tools run to the end.
	Context context.Context
}

// Journal is a journal opened for audit. It is read-only and may be used
// from one goroutine at a time.
type Journal struct {
	r       *journal.Reader
	opts    Options
	shards  []shardInfo
	symbols map[string]instLoc
	parties []engine.Participant // index = PartyID; [0] unused
}

type shardInfo struct {
	cfg      engine.Config // TradeDate: the genesis trade date
	genesis  bool          // cfg.TradeDate came from the journal
	head     journal.Head  // as the last block states it (Verify proves it)
	decimals []int         // per local instrument: the tick's decimal places
}

type instLoc struct {
	shard uint16
	local engine.InstrumentID
}

// Open opens the journal (or checkpoint) in dir read-only and reads the
// configuration it was written under. A journal a running venue holds
// open cannot be opened (Pebble's lock): audit a checkpoint of it, or use
// FromReader with a view of the open journal.
func Open(dir string, opts Options) (*Journal, error) {
	r, err := journal.OpenReader(dir, journal.ReaderOptions{Options: journal.Options{Logger: opts.Logger}})
	if err != nil {
		return nil, err
	}
	j, err := newJournal(r, opts)
	if err != nil {
		r.Close()
		return nil, err
	}
	return j, nil
}

// FromReader audits the journal r reads: for a running venue, a
// consistent view of its open journal (journal.Journal.SnapshotReader),
// which every answer then describes as of the moment the view was taken.
// The returned Journal owns r (Close closes it); on error r is not
// closed.
func FromReader(r *journal.Reader, opts Options) (*Journal, error) {
	return newJournal(r, opts)
}

func newJournal(r *journal.Reader, opts Options) (*Journal, error) {
	raw, err := r.Meta(metaConfig)
	if errors.Is(err, journal.ErrNotFound) {
		return nil, fmt.Errorf("%w: metadata %q is missing (was this journal written by fxmatch serve?)", ErrNoConfig, metaConfig)
	}
	if err != nil {
		return nil, err
	}
	var cfgs []engine.Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	// A field this build does not know means a journal written by a newer
	// engine, whose rules this build cannot replay.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfgs); err != nil {
		return nil, fmt.Errorf("%w: metadata %q: %v", ErrNoConfig, metaConfig, err)
	}
	if len(cfgs) == 0 || len(cfgs) > 1<<16 {
		return nil, fmt.Errorf("%w: metadata %q lists %d shards", ErrNoConfig, metaConfig, len(cfgs))
	}
	j := &Journal{r: r, opts: opts, symbols: map[string]instLoc{}, parties: cfgs[0].Participants}
	for si := range cfgs {
		c := cfgs[si]
		if c.Shard != uint16(si) {
			return nil, fmt.Errorf("%w: configuration %d is of shard %d", ErrNoConfig, si, c.Shard)
		}
		if !sameParties(c.Participants, j.parties) {
			return nil, fmt.Errorf("%w: shard %d numbers the participants differently from shard 0", ErrNoConfig, si)
		}
		head, err := r.Head(uint16(si))
		if err != nil {
			return nil, err
		}
		sh := shardInfo{head: head}
		b, err := r.Meta(genesisKey(si))
		switch {
		case err == nil:
			n, perr := strconv.Atoi(string(b))
			if perr != nil || !engine.Date(n).Valid() {
				return nil, fmt.Errorf("%w: metadata %q is %q, not a YYYYMMDD date", ErrNoConfig, genesisKey(si), b)
			}
			c.TradeDate, sh.genesis = engine.Date(n), true
		case errors.Is(err, journal.ErrNotFound) && head.Seq == 0:
			c.TradeDate = placeholderDate
		case errors.Is(err, journal.ErrNotFound):
			return nil, fmt.Errorf("%w: shard %d has records but no metadata %q: its first trade date is unknown", ErrNoConfig, si, genesisKey(si))
		default:
			return nil, err
		}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("%w: shard %d: %v", ErrNoConfig, si, err)
		}
		sh.cfg = c
		for li, in := range c.Instruments {
			if _, dup := j.symbols[in.Symbol]; dup {
				return nil, fmt.Errorf("%w: %s is traded by two shards", ErrNoConfig, in.Symbol)
			}
			j.symbols[in.Symbol] = instLoc{shard: uint16(si), local: engine.InstrumentID(li)}
			sh.decimals = append(sh.decimals, engine.TickDecimals(in.Tick))
		}
		j.shards = append(j.shards, sh)
	}
	present, err := r.Shards()
	if err != nil {
		return nil, err
	}
	for _, s := range present {
		if int(s) >= len(j.shards) {
			return nil, fmt.Errorf("%w: the journal has records of shard %d, its configuration only %d shards", ErrNoConfig, s, len(j.shards))
		}
	}
	return j, nil
}

func sameParties(a, b []engine.Participant) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Close closes the journal.
func (j *Journal) Close() error { return j.r.Close() }

// Shards is the number of shards the journal's configuration has.
func (j *Journal) Shards() int { return len(j.shards) }

// ShardInfo describes one shard for reports.
type ShardInfo struct {
	Shard uint16
	// Symbols are the shard's instruments in its engine's numbering.
	Symbols []string
	// GenesisTradeDate is the trade date the shard's engine started in (0
	// for a shard with no records).
	GenesisTradeDate engine.Date
	// Head is the shard's last sequence and chain hash as the journal's
	// last block states them (Verify recomputes them).
	Head journal.Head
}

// ShardInfo describes shard si.
func (j *Journal) ShardInfo(si int) ShardInfo {
	sh := &j.shards[si]
	info := ShardInfo{Shard: uint16(si), Head: sh.head}
	if sh.genesis {
		info.GenesisTradeDate = sh.cfg.TradeDate
	}
	for _, in := range sh.cfg.Instruments {
		info.Symbols = append(info.Symbols, in.Symbol)
	}
	return info
}

// Party finds a participant by name (its FIX CompID).
func (j *Journal) Party(name string) (engine.PartyID, bool) {
	for i := 1; i < len(j.parties); i++ {
		if j.parties[i].Name == name {
			return engine.PartyID(i), true
		}
	}
	return engine.NoParty, false
}

// partyName is the participant's name, "" for none or an unknown number.
func (j *Journal) partyName(p engine.PartyID) string {
	if p == engine.NoParty || int(p) >= len(j.parties) {
		return ""
	}
	return j.parties[p].Name
}

// lookupSymbol finds the shard and local id of a pair.
func (j *Journal) lookupSymbol(sym string) (instLoc, error) {
	loc, ok := j.symbols[sym]
	if !ok {
		known := make([]string, 0, len(j.symbols))
		for _, sh := range j.shards {
			for _, in := range sh.cfg.Instruments {
				known = append(known, in.Symbol)
			}
		}
		return loc, fmt.Errorf("%w %q (the journal's pairs: %s)", ErrUnknownSymbol, sym, strings.Join(known, ", "))
	}
	return loc, nil
}

// symbol is the pair of a shard's local instrument, and its tick's decimal
// places; "" and 8 for a number the shard does not have (a reject of an
// unknown pair).
func (j *Journal) symbol(shard uint16, id engine.InstrumentID) (string, int) {
	sh := &j.shards[shard]
	if int(id) >= len(sh.cfg.Instruments) {
		return "", engine.PriceDecimals
	}
	return sh.cfg.Instruments[id].Symbol, sh.decimals[id]
}

// progress reports walks to Options.Progress, and checks
// Options.Context, every progressEvery records.
type progress struct {
	fn          func(done, total uint64)
	ctx         context.Context
	done, total uint64
}

func (j *Journal) progress(total uint64) *progress {
	return &progress{fn: j.opts.Progress, ctx: j.opts.Context, total: total}
}

// step counts a record; it returns an error wrapping ErrStopped once the
// context is done.
func (p *progress) step() error {
	p.done++
	// The first record checks too, so that a walk begun on a done
	// context stops at once.
	if p.done%progressEvery != 0 && p.done != 1 {
		return nil
	}
	if p.fn != nil && p.done%progressEvery == 0 {
		p.fn(p.done, max(p.total, p.done))
	}
	if p.ctx != nil {
		if err := p.ctx.Err(); err != nil {
			return fmt.Errorf("%w after %d records: %w", ErrStopped, p.done, err)
		}
	}
	return nil
}

func (p *progress) end() {
	if p.fn != nil {
		p.fn(p.done, max(p.total, p.done))
	}
}

// replayer applies journaled records to an engine and checks that each
// reproduces its journaled events.
type replayer struct {
	shard    uint16
	from     uint64 // the snapshot the replay started from (0: genesis)
	eng      *engine.Engine
	out      []engine.Event
	lastTime int64
}

// apply re-executes rec's command. The engine panics on a command that
// breaks its invariants (a roll to an earlier date, an unknown kind): from
// a journal that is evidence, not a bug, so it becomes an error naming
// the record.
func (rp *replayer) apply(rec *journal.Record) (err error) {
	c := &rec.Command
	if c.Time < rp.lastTime {
		return &journal.SeqError{Shard: rp.shard, Seq: c.Seq, Err: ErrReplayMismatch,
			Detail: fmt.Sprintf("its time %s is before the previous command's %s", FormatTime(c.Time), FormatTime(rp.lastTime))}
	}
	rp.lastTime = c.Time
	defer func() {
		if r := recover(); r != nil {
			err = &journal.SeqError{Shard: rp.shard, Seq: c.Seq, Err: ErrReplayMismatch, Detail: fmt.Sprintf("the engine refused the command: %v", r)}
		}
	}()
	rp.out = rp.eng.Apply(c, rp.out[:0])
	return nil
}

// compare reports the first difference between the replayed events and
// the journaled ones.
func (rp *replayer) compare(rec *journal.Record) error {
	if d := diffEvents(rec.Events, rp.out); d != "" {
		return &journal.SeqError{Shard: rp.shard, Seq: rec.Command.Seq, Err: ErrReplayMismatch, Detail: d}
	}
	return nil
}

// diffEvents describes the first difference between journaled and
// replayed events, "" if there is none.
func diffEvents(journaled, replayed []engine.Event) string {
	for i := range min(len(journaled), len(replayed)) {
		a, b := &journaled[i], &replayed[i]
		if *a == *b {
			continue
		}
		va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
		for f := range va.NumField() {
			if va.Field(f).Interface() != vb.Field(f).Interface() {
				return fmt.Sprintf("event %d (%s): journaled %s %v, replay gives %v",
					i+1, a.Kind, va.Type().Field(f).Name, fieldText(va.Field(f)), fieldText(vb.Field(f)))
			}
		}
	}
	if len(journaled) != len(replayed) {
		return fmt.Sprintf("journaled %d events, replay gives %d", len(journaled), len(replayed))
	}
	return ""
}

func fieldText(v reflect.Value) any {
	if id, ok := v.Interface().(engine.ID); ok {
		return strconv.Quote(id.String())
	}
	return v.Interface()
}

// FormatTime is t (Unix nanoseconds) in UTC with microseconds, the form
// every output of the package uses: 2026-03-03T14:30:00.000125Z.
func FormatTime(t int64) string { return string(AppendTime(nil, t)) }

// AppendTime appends FormatTime(t) to dst.
func AppendTime(dst []byte, t int64) []byte {
	return time.Unix(0, t).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z07:00")
}

// FormatDate is d as 2026-03-03 ("" for 0).
func FormatDate(d engine.Date) string { return string(AppendDate(nil, d)) }

// AppendDate appends FormatDate(d) to dst.
func AppendDate(dst []byte, d engine.Date) []byte {
	if d == 0 {
		return dst
	}
	y, m, day := int(d/10000), int(d/100%100), int(d%100)
	dst = strconv.AppendInt(dst, int64(y), 10)
	dst = append(dst, '-', byte('0'+m/10), byte('0'+m%10), '-', byte('0'+day/10), byte('0'+day%10))
	return dst
}

package engine_test

// Script tests: testdata/*.txt hold blocks of commands and the events the
// engine must produce for them, in the datadriven style of cockroachdb's
// tests:
//
//	run
//	new BANKA c1 USD/CNY buy 1m @7.1000
//	----
//	accepted BANKA c1 #1 buy USD/CNY 1m @7.1000 day leaves=1m cum=0
//	level USD/CNY bid 7.1000 new 1m n=1
//
// Command lines are those of parseCommand, plus `wait DURATION` (time
// passes with no command).
//
// Directives: `reset [smp=PARTY:mode ...] [credit=A:B:limit ...] [maxlive=N]`
// rebuilds the engine; `run` applies the command lines below it and prints
// every event; `book SYMBOL` prints both sides of a book with every order
// (L3); `credit A B` prints the line's limit, usage and room.
//
// `go test ./engine -run Script -rewrite` rewrites the expected output.

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fxmatch/engine"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of script tests")

var scriptParties = []string{"", "BANKA", "BANKB", "BANKC", "BROKER1", "REGULATOR"}

// scriptConfig is the demo venue in miniature: the RoE's participants and
// instruments, with 5bn credit between every pair except BANKA-BANKC.
func scriptConfig() engine.Config {
	ps := []engine.Participant{{}}
	for _, n := range scriptParties[1:] {
		ps = append(ps, engine.Participant{Name: n, CanTrade: n != "REGULATOR"})
	}
	ins := []engine.Instrument{
		{Symbol: "USD/CNY", Base: "USD", Term: "CNY", Tick: 10_000, Lot: 100_000, MinQty: 100_000, MaxQty: 500_000_000, RefPrice: 710_000_000, BandBP: 200},
		{Symbol: "EUR/USD", Base: "EUR", Term: "USD", Tick: 1_000, Lot: 100_000, MinQty: 100_000, MaxQty: 500_000_000, RefPrice: 108_000_000, BandBP: 200},
		{Symbol: "USD/JPY", Base: "USD", Term: "JPY", Tick: 100_000, Lot: 100_000, MinQty: 100_000, MaxQty: 500_000_000, RefPrice: 15_000_000_000, BandBP: 200},
		{Symbol: "EUR/CNY", Base: "EUR", Term: "CNY", Tick: 10_000, Lot: 100_000, MinQty: 100_000, MaxQty: 500_000_000, RefPrice: 770_000_000, BandBP: 200},
	}
	var lines []engine.CreditLine
	for a := 1; a <= 4; a++ {
		for b := a + 1; b <= 4; b++ {
			l := int64(5_000_000_000)
			if a == 1 && b == 3 {
				l = 0
			}
			lines = append(lines, engine.CreditLine{A: engine.PartyID(a), B: engine.PartyID(b), Limit: l})
		}
	}
	return engine.Config{
		Participants: ps, Instruments: ins, CreditLines: lines,
		Holidays:  map[string][]engine.Date{"USD": {20261126}, "CNY": {}},
		TradeDate: 20261125, MaxLiveOrders: 1000, ExpectedOrdersPerDay: 1000,
	}
}

type scriptRun struct {
	t   *testing.T
	e   *engine.Engine
	cfg engine.Config
	// restoreEach: before every block, replace the engine by one restored
	// from its snapshot. The expected output must not change.
	restoreEach bool
	seq         uint64
	now         time.Time
	evs         []engine.Event
	syms        []string
}

func newScriptRun(t *testing.T, cfg engine.Config) (*scriptRun, error) {
	e, err := engine.New(cfg)
	if err != nil {
		return nil, err
	}
	r := &scriptRun{t: t, e: e, cfg: cfg, now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	for _, in := range cfg.Instruments {
		r.syms = append(r.syms, in.Symbol)
	}
	return r, nil
}

func party(s string) (engine.PartyID, error) {
	for i, n := range scriptParties {
		if n == s && i > 0 {
			return engine.PartyID(i), nil
		}
	}
	if s == "NOBODY" {
		return 99, nil
	}
	return 0, fmt.Errorf("unknown party %q", s)
}

func parseQty(s string) (engine.Qty, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "m"):
		mult, s = 1_000_000, strings.TrimSuffix(s, "m")
	case strings.HasSuffix(s, "k"):
		mult, s = 1_000, strings.TrimSuffix(s, "k")
	}
	if strings.Contains(s, ".") {
		p, err := engine.ParsePrice(s)
		if err != nil {
			return 0, err
		}
		return engine.Qty(int64(p) * mult / engine.PriceScale), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return engine.Qty(n * mult), err
}

func fmtQty(q engine.Qty) string {
	switch {
	case q != 0 && q%1_000_000 == 0:
		return strconv.FormatInt(int64(q)/1_000_000, 10) + "m"
	case q != 0 && q%100_000 == 0:
		return strconv.FormatFloat(float64(q)/1e6, 'f', -1, 64) + "m"
	}
	return strconv.FormatInt(int64(q), 10)
}

func (r *scriptRun) instrument(s string) engine.InstrumentID {
	if id, ok := r.e.InstrumentBySymbol(s); ok {
		return id
	}
	return 999
}

func (r *scriptRun) px(id engine.InstrumentID, p engine.Price) string {
	if int(id) >= len(r.e.Instruments()) {
		return engine.FormatPrice(p, 8)
	}
	return engine.FormatPrice(p, engine.TickDecimals(r.e.Instruments()[id].Tick))
}

func (r *scriptRun) sym(id engine.InstrumentID) string {
	if int(id) < len(r.syms) {
		return r.syms[id]
	}
	return "?"
}

func pname(p engine.PartyID) string {
	if int(p) < len(scriptParties) {
		return scriptParties[p]
	}
	return "#" + strconv.Itoa(int(p))
}

// parseCommand turns one script line into a command.
func (r *scriptRun) parseCommand(line string) (engine.Command, error) {
	f := strings.Fields(line)
	var c engine.Command
	need := func(n int) error {
		if len(f) < n {
			return fmt.Errorf("%s: want at least %d words", f[0], n)
		}
		return nil
	}
	var err error
	switch f[0] {
	case "new":
		if err = need(6); err != nil {
			return c, err
		}
		c.Kind = engine.CmdNewOrder
		c.OrdType = engine.Limit
		if c.Party, err = party(f[1]); err != nil {
			return c, err
		}
		c.ClOrdID = engine.MustID(f[2])
		c.Instrument = r.instrument(f[3])
		c.Side = map[string]engine.Side{"buy": engine.Buy, "sell": engine.Sell}[f[4]]
		if c.Qty, err = parseQty(f[5]); err != nil {
			return c, err
		}
		for _, w := range f[6:] {
			k, v, _ := strings.Cut(w, "=")
			switch {
			case strings.HasPrefix(w, "@"):
				if c.Price, err = engine.ParsePrice(w[1:]); err != nil {
					return c, err
				}
			case w == "market":
				c.OrdType = engine.Market
			case w == "gtc":
				c.TIF = engine.GTC
			case w == "ioc":
				c.TIF = engine.IOC
			case w == "fok":
				c.TIF = engine.FOK
			case w == "postonly":
				c.PostOnly = true
			case k == "tif":
				n, _ := strconv.Atoi(v)
				c.TIF = engine.TIF(n)
			case k == "gtd":
				c.TIF = engine.GTD
				d, err := time.ParseDuration(v)
				if err != nil {
					return c, err
				}
				c.ExpireTime = r.now.Add(d).UnixNano()
			case k == "expire":
				d, err := time.ParseDuration(v)
				if err != nil {
					return c, err
				}
				c.ExpireTime = r.now.Add(d).UnixNano()
			case k == "min":
				if c.MinQty, err = parseQty(v); err != nil {
					return c, err
				}
			case k == "floor":
				if c.MaxFloor, err = parseQty(v); err != nil {
					return c, err
				}
			case k == "to":
				if c.Directed, err = party(v); err != nil {
					return c, err
				}
			case k == "acct":
				c.Account = engine.MustID(v)
			case k == "side":
				n, _ := strconv.Atoi(v)
				c.Side = engine.Side(n)
			case k == "type":
				n, _ := strconv.Atoi(v)
				c.OrdType = engine.OrdType(n)
			default:
				return c, fmt.Errorf("new: unknown word %q", w)
			}
		}
	case "cancel", "replace":
		if err = need(6); err != nil {
			return c, err
		}
		c.Kind = engine.CmdCancel
		if f[0] == "replace" {
			c.Kind = engine.CmdReplace
			c.OrdType = engine.Limit
		}
		if c.Party, err = party(f[1]); err != nil {
			return c, err
		}
		c.ClOrdID = engine.MustID(f[2])
		c.OrigClOrdID = engine.MustID(f[3])
		c.Instrument = r.instrument(f[4])
		c.Side = map[string]engine.Side{"buy": engine.Buy, "sell": engine.Sell}[f[5]]
		if c.Kind == engine.CmdReplace {
			if err = need(8); err != nil {
				return c, err
			}
			if c.Qty, err = parseQty(f[6]); err != nil {
				return c, err
			}
			if c.Price, err = engine.ParsePrice(strings.TrimPrefix(f[7], "@")); err != nil {
				return c, err
			}
		}
	case "mass", "disconnect":
		if err = need(2); err != nil {
			return c, err
		}
		c.Kind = engine.CmdMassCancel
		if c.Party, err = party(f[1]); err != nil {
			return c, err
		}
		c.Scope = engine.MassAll
		if f[0] == "disconnect" {
			c.Reason = engine.ReasonDisconnect
		} else if len(f) > 2 && f[2] != "all" {
			c.Scope = engine.MassBySymbol
			c.Instrument = r.instrument(f[2])
		}
		if len(f) > 3 {
			c.ClOrdID = engine.MustID(f[3])
		}
	case "setcredit":
		if err = need(4); err != nil {
			return c, err
		}
		c.Kind = engine.CmdSetCredit
		if c.Party, err = party(f[1]); err != nil {
			return c, err
		}
		if c.Counterparty, err = party(f[2]); err != nil {
			return c, err
		}
		if c.CreditLimit, err = strconv.ParseInt(f[3], 10, 64); err != nil {
			return c, err
		}
	case "tick":
		if err = need(2); err != nil {
			return c, err
		}
		d, err := time.ParseDuration(f[1])
		if err != nil {
			return c, err
		}
		r.now = r.now.Add(d)
		c.Kind = engine.CmdTick
	case "roll":
		if err = need(2); err != nil {
			return c, err
		}
		c.Kind = engine.CmdRollDay
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return c, err
		}
		c.TradeDate = engine.Date(n)
	default:
		return c, fmt.Errorf("unknown command %q", f[0])
	}
	return c, nil
}

func (r *scriptRun) apply(c engine.Command) []engine.Event {
	r.seq++
	r.now = r.now.Add(time.Millisecond)
	c.Seq = r.seq
	c.Time = r.now.UnixNano()
	r.evs = r.e.Apply(&c, r.evs[:0])
	return r.evs
}

func (r *scriptRun) formatEvent(ev *engine.Event) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	order := func() {
		w(" %s %s", pname(ev.Party), ev.ClOrdID.String())
		if !ev.OrigClOrdID.Empty() {
			w(" orig=%s", ev.OrigClOrdID.String())
		}
		if ev.OrderID != 0 {
			w(" #%d", ev.OrderID)
		}
		w(" %s %s %s", ev.Side, r.sym(ev.Instrument), fmtQty(ev.OrderQty))
		if ev.OrdType == engine.Market {
			w(" market")
		} else {
			w(" @%s", r.px(ev.Instrument, ev.Price))
		}
		w(" %s", ev.TIF)
	}
	state := func() {
		w(" leaves=%s cum=%s", fmtQty(ev.LeavesQty), fmtQty(ev.CumQty))
		if ev.CumQty > 0 {
			w(" avg=%s", engine.FormatPrice(ev.AvgPx, 8))
		}
	}
	b.WriteString(ev.Kind.String())
	switch ev.Kind {
	case engine.EvAccepted, engine.EvReplaced:
		order()
		state()
		if !ev.Account.Empty() {
			w(" acct=%s", ev.Account.String())
		}
	case engine.EvRejected:
		order()
		w(" reason=%s", ev.Reason)
	case engine.EvCancelled, engine.EvExpired:
		order()
		state()
		w(" reason=%s", ev.Reason)
	case engine.EvFill:
		order()
		w(" last=%s@%s vs=%s", fmtQty(ev.LastQty), r.px(ev.Instrument, ev.LastPx), pname(ev.Counterparty))
		if ev.Aggressor {
			w(" aggr")
		}
		state()
		w(" trade=%d settl=%d", ev.TradeID, ev.SettlDate)
	case engine.EvTrade:
		w(" %s %s@%s aggr=%s trade=%d", r.sym(ev.Instrument), fmtQty(ev.LastQty), r.px(ev.Instrument, ev.LastPx), ev.Side, ev.TradeID)
	case engine.EvLevel:
		side := "bid"
		if ev.Side == engine.Sell {
			side = "ask"
		}
		act := [...]string{"new", "change", "delete"}[ev.Action]
		w(" %s %s %s %s %s n=%d", r.sym(ev.Instrument), side, r.px(ev.Instrument, ev.Price), act, fmtQty(ev.Displayed), ev.Count)
	case engine.EvCancelRejected:
		to := "cancel"
		if ev.RespondingTo == engine.CmdReplace {
			to = "replace"
		}
		w(" %s %s orig=%s", pname(ev.Party), ev.ClOrdID.String(), ev.OrigClOrdID.String())
		if ev.OrderID != 0 {
			w(" #%d", ev.OrderID)
		}
		w(" to=%s reason=%s", to, ev.Reason)
	case engine.EvMassCancelReport:
		w(" %s %s count=%d", pname(ev.Party), ev.ClOrdID.String(), ev.Count)
		if ev.Reason != engine.ReasonNone {
			w(" reason=%s", ev.Reason)
		}
	case engine.EvCreditSet:
		w(" %s->%s limit=%d", pname(ev.Party), pname(ev.Counterparty), ev.CreditLimit)
	case engine.EvDayRolled:
		w(" %d", ev.TradeDate)
	}
	return b.String()
}

func (r *scriptRun) printBook(sym string) string {
	id, ok := r.e.InstrumentBySymbol(sym)
	if !ok {
		return "unknown symbol " + sym + "\n"
	}
	var b strings.Builder
	for _, s := range []engine.Side{engine.Sell, engine.Buy} {
		var lines []string
		r.e.BookOrders(id, s, func(o engine.OrderView) bool {
			l := fmt.Sprintf("  %s %s #%d %s %s show=%s", r.px(id, o.Price), pname(o.Party), o.OrderID, o.ClOrdID.String(), fmtQty(o.LeavesQty), fmtQty(o.Displayed))
			if o.MinQty > 0 && o.CumQty == 0 {
				l += " min=" + fmtQty(o.MinQty)
			}
			lines = append(lines, l)
			return true
		})
		if s == engine.Sell {
			b.WriteString("asks (best first):\n")
		} else {
			b.WriteString("bids (best first):\n")
		}
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	fmt.Fprintf(&b, "ref=%s\n", r.px(id, r.e.RefPrice(id)))
	return b.String()
}

func (r *scriptRun) directive(cmd string, args []string, input []string) (string, error) {
	if r.restoreEach {
		snap := r.e.AppendSnapshot(nil)
		e, err := engine.Restore(r.cfg, snap)
		if err != nil {
			return "", fmt.Errorf("restore: %v", err)
		}
		if again := e.AppendSnapshot(nil); string(again) != string(snap) {
			return "", fmt.Errorf("restored engine's snapshot differs from the original's")
		}
		r.e = e
	}
	switch cmd {
	case "run":
		var b strings.Builder
		for _, line := range input {
			if d, ok := strings.CutPrefix(line, "wait "); ok {
				// Time passes without a command.
				dur, err := time.ParseDuration(d)
				if err != nil {
					return "", err
				}
				r.now = r.now.Add(dur)
				continue
			}
			c, err := r.parseCommand(line)
			if err != nil {
				return "", err
			}
			for i := range r.apply(c) {
				b.WriteString(r.formatEvent(&r.evs[i]) + "\n")
			}
		}
		return b.String(), nil
	case "book":
		if len(args) != 1 {
			return "", fmt.Errorf("book SYMBOL")
		}
		return r.printBook(args[0]), nil
	case "credit":
		if len(args) != 2 {
			return "", fmt.Errorf("credit A B")
		}
		a, err := party(args[0])
		if err != nil {
			return "", err
		}
		bp, err := party(args[1])
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("limit=%d/%d used=%d room=%d\n", r.e.CreditLimit(a, bp), r.e.CreditLimit(bp, a), r.e.CreditUsed(a, bp), r.e.RemainingCredit(a, bp)), nil
	}
	return "", fmt.Errorf("unknown directive %q", cmd)
}

func resetConfig(args []string) (engine.Config, error) {
	cfg := scriptConfig()
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "smp":
			p, m, _ := strings.Cut(v, ":")
			id, err := party(p)
			if err != nil {
				return cfg, err
			}
			mode, err := engine.ParseSMPMode(m)
			if err != nil {
				return cfg, err
			}
			cfg.Participants[id].SMP = mode
		case "credit":
			parts := strings.Split(v, ":")
			if len(parts) != 3 {
				return cfg, fmt.Errorf("credit=A:B:limit")
			}
			a, err := party(parts[0])
			if err != nil {
				return cfg, err
			}
			b, err := party(parts[1])
			if err != nil {
				return cfg, err
			}
			l, err := strconv.ParseInt(parts[2], 10, 64)
			if err != nil {
				return cfg, err
			}
			cfg.CreditLines = append(cfg.CreditLines, engine.CreditLine{A: a, B: b, Limit: l})
		case "maxlive":
			n, err := strconv.Atoi(v)
			if err != nil {
				return cfg, err
			}
			cfg.MaxLiveOrders = n
		default:
			return cfg, fmt.Errorf("reset: unknown option %q", a)
		}
	}
	return cfg, nil
}

func TestScript(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no script files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runScript(t, file, false) })
	}
}

// TestScriptRestored runs every script again, replacing the engine before
// each block by one restored from its snapshot: snapshots carry the whole
// state, so nothing may change.
func TestScriptRestored(t *testing.T) {
	if *rewrite {
		t.Skip("rewriting")
	}
	files, _ := filepath.Glob("testdata/*.txt")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runScript(t, file, true) })
	}
}

// runScript runs one script file, comparing or (with -rewrite) rewriting
// each block's output.
func runScript(t *testing.T, file string, restoreEach bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := newScriptRun(t, scriptConfig())
	if err != nil {
		t.Fatal(err)
	}
	r.restoreEach = restoreEach
	var out strings.Builder
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	lineNo := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		lineNo++
		return sc.Text(), true
	}
	for {
		line, ok := next()
		if !ok {
			break
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			out.WriteString(line + "\n")
			continue
		}
		start := lineNo
		out.WriteString(line + "\n")
		f := strings.Fields(line)
		var input []string
		for {
			l, ok := next()
			if !ok {
				t.Fatalf("%s:%d: block without ----", file, start)
			}
			out.WriteString(l + "\n")
			if l == "----" {
				break
			}
			input = append(input, l)
		}
		var want []string
		for {
			l, ok := next()
			if !ok || l == "" {
				break
			}
			want = append(want, l)
		}
		var got string
		if f[0] == "reset" {
			cfg, err := resetConfig(f[1:])
			if err == nil {
				r, err = newScriptRun(t, cfg)
			}
			if err == nil {
				r.restoreEach = restoreEach
			}
			if err != nil {
				got = "error: " + err.Error() + "\n"
			} else {
				got = "ok\n"
			}
		} else {
			got, err = r.directive(f[0], f[1:], input)
			if err != nil {
				t.Fatalf("%s:%d: %v", file, start, err)
			}
		}
		out.WriteString(got + "\n")
		if !*rewrite || restoreEach {
			wantS := strings.Join(want, "\n")
			if len(want) > 0 {
				wantS += "\n"
			}
			if got != wantS {
				t.Errorf("%s:%d: %s\n--- want\n%s--- got\n%s", file, start, line, wantS, got)
			}
		}
	}
	if *rewrite && !restoreEach {
		s := strings.TrimRight(out.String(), "\n") + "\n"
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

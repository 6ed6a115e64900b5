package audit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"fxmatch/engine"
	"fxmatch/journal"
	"fxmatch/journal/audit"
	"fxmatch/journal/audit/audittest"
)

// The scenario's journal is checked against what the venue published
// while it ran (every event went out through the hub after it was
// durable): the regulator's reconstruction must agree with what the
// participants and the market were told.

// shardOf is the shard of a published event (global instrument ids), -1
// for events of no instrument.
func shardOf(res *audittest.Result, ev *engine.Event) int {
	switch ev.Kind {
	case engine.EvDayRolled, engine.EvCreditSet, engine.EvMassCancelReport:
		return -1
	}
	sh, _ := res.Config.ShardOf(res.Config.Instruments[ev.Instrument].Symbol)
	return sh
}

func TestVerifyIntact(t *testing.T) {
	res := scenario(t)
	var calls, lastDone, lastTotal uint64
	j, err := audit.Open(res.JournalDir, audit.Options{Logger: quiet(), Progress: func(done, total uint64) {
		calls++
		lastDone, lastTotal = done, total
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rep, err := j.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatalf("intact journal: %v", err)
	}
	last := res.Steps[len(res.Steps)-1].Heads
	var events uint64
	for si, s := range rep.Shards {
		info := j.ShardInfo(si)
		if s.Head != info.Head || s.Head.Seq != last[si] || s.Records != last[si] {
			t.Errorf("shard %d: verified head %v, %d records; the journal states %v; the script ended at %d", si, s.Head, s.Records, info.Head, last[si])
		}
		if len(s.Snapshots) == 0 {
			t.Errorf("shard %d: no snapshot compared (SnapshotEvery %d)", si, audittest.SnapshotEvery)
		}
		events += s.Events
	}
	if events != uint64(len(res.Events)) {
		t.Errorf("verify reproduced %d events; the venue published %d", events, len(res.Events))
	}
	if calls == 0 || lastDone != last[0]+last[1] || lastTotal != lastDone {
		t.Errorf("progress: %d calls, last %d/%d", calls, lastDone, lastTotal)
	}
	var out bytes.Buffer
	if err := audit.WriteVerifyText(&out, rep); err != nil {
		t.Fatal(err)
	}
	golden(t, "verify.txt", out.Bytes())
}

// l2 is a book's displayed levels as the market data (EvLevel) built it.
type l2 map[engine.Side]map[engine.Price]engine.Level

func (b l2) levels(s engine.Side) []engine.Level {
	var out []engine.Level
	for _, l := range b[s] {
		out = append(out, l)
	}
	slices.SortFunc(out, func(x, y engine.Level) int {
		if s == engine.Buy {
			return int(y.Price - x.Price)
		}
		return int(x.Price - y.Price)
	})
	return out
}

// TestBookEverySeq rebuilds every pair's book after every sequence three
// ways — from the nearest snapshot, from genesis, and from the L2 market
// data the venue published — and demands they agree.
func TestBookEverySeq(t *testing.T) {
	res := scenario(t)
	j := open(t, res.JournalDir)
	md := map[string]l2{}
	bySeq := map[int]map[uint64][]engine.Event{}
	for _, ev := range res.Events {
		sh := shardOf(res, &ev)
		if sh < 0 {
			continue
		}
		if bySeq[sh] == nil {
			bySeq[sh] = map[uint64][]engine.Event{}
		}
		bySeq[sh][ev.Seq] = append(bySeq[sh][ev.Seq], ev)
	}
	fromSnapshot := 0
	for si := range j.Shards() {
		info := j.ShardInfo(si)
		for seq := uint64(0); seq <= info.Head.Seq; seq++ {
			for _, ev := range bySeq[si][seq] {
				if ev.Kind != engine.EvLevel {
					continue
				}
				sym := res.Config.Instruments[ev.Instrument].Symbol
				if md[sym] == nil {
					md[sym] = l2{engine.Buy: {}, engine.Sell: {}}
				}
				if ev.Displayed == 0 {
					delete(md[sym][ev.Side], ev.Price)
				} else {
					md[sym][ev.Side][ev.Price] = engine.Level{Price: ev.Price, Qty: ev.Displayed, Count: int(ev.Count)}
				}
			}
			for _, sym := range info.Symbols {
				b, err := j.BookAtSeq(sym, seq)
				if err != nil {
					t.Fatalf("%s at seq %d: %v", sym, seq, err)
				}
				g, err := audit.BookFromGenesis(j, sym, seq)
				if err != nil {
					t.Fatalf("%s at seq %d from genesis: %v", sym, seq, err)
				}
				if b.FromSnapshot > 0 {
					fromSnapshot++
				}
				g.FromSnapshot = b.FromSnapshot
				if !reflect.DeepEqual(b, g) {
					t.Fatalf("%s at seq %d: from snapshot %d:\n%+v\nfrom genesis:\n%+v", sym, seq, b.FromSnapshot, b, g)
				}
				for _, s := range []engine.Side{engine.Buy, engine.Sell} {
					want := md[sym].levels(s)
					got := b.Bids
					if s == engine.Sell {
						got = b.Asks
					}
					if len(got) != len(want) || len(got) > 0 && !reflect.DeepEqual(got, want) {
						t.Fatalf("%s at seq %d, %s: replayed L2 %v, market data %v", sym, seq, s, got, want)
					}
				}
			}
		}
	}
	if fromSnapshot == 0 {
		t.Fatal("no book was rebuilt from a snapshot")
	}
	// The last books are the venue's own.
	for sym, vb := range res.Books {
		loc, _ := res.Config.ShardOf(sym)
		b, err := j.BookAtSeq(sym, j.ShardInfo(loc).Head.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(b.Bids, vb.Bids) || !slices.Equal(b.Asks, vb.Asks) {
			t.Errorf("%s: replayed %v / %v, the venue's last book %v / %v", sym, b.Bids, b.Asks, vb.Bids, vb.Asks)
		}
	}
}

func TestBookAtTime(t *testing.T) {
	res := scenario(t)
	j := open(t, res.JournalDir)
	for i, st := range res.Steps {
		for si := range j.Shards() {
			sym := j.ShardInfo(si).Symbols[0]
			for _, tc := range []struct {
				at   time.Time
				want uint64
			}{
				{st.Time, st.Heads[si]},
				{st.Time.Add(time.Microsecond / 2), st.Heads[si]},
			} {
				b, err := j.BookAtTime(sym, tc.at)
				if err != nil {
					t.Fatal(err)
				}
				if b.Seq != tc.want || b.At != tc.at.UnixNano() {
					t.Errorf("step %d (%s): %s at %s is after seq %d, want %d", i, st.Name, sym, tc.at.Format(time.RFC3339Nano), b.Seq, tc.want)
				}
			}
		}
	}
	b, err := j.BookAtTime("USD/CNY", audittest.Start)
	if err != nil || b.Seq != 0 || len(b.Bids)+len(b.Asks) != 0 || b.TradeDate != 20260303 {
		t.Errorf("before the first command: %+v %v", b, err)
	}
	// Just before step 5's command: the book after step 4.
	st := res.Steps[4]
	b, err = j.BookAtTime("USD/CNY", st.Time.Add(-1))
	if err != nil || b.Seq != res.Steps[3].Heads[0] {
		t.Errorf("1ns before %q: seq %d %v, want %d", st.Name, b.Seq, err, res.Steps[3].Heads[0])
	}
}

func TestBookGolden(t *testing.T) {
	res := scenario(t)
	j := open(t, res.JournalDir)
	// After "a2r replaced down to a2rr": two asks at one price in time
	// priority, an iceberg bid showing a third of itself.
	var st audittest.Step
	for _, s := range res.Steps {
		if s.Name == "a2r replaced down to a2rr (keeps priority)" {
			st = s
		}
	}
	b, err := j.BookAtSeq("USD/CNY", st.Heads[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(b.AskOrders) != 2 || b.AskOrders[0].ClOrdID.String() != "a2rr" || b.AskOrders[1].Participant != "BROKER1" ||
		len(b.BidOrders) != 1 || b.BidOrders[0].Displayed != 1_000_000 || b.BidOrders[0].LeavesQty != 3_000_000 {
		t.Errorf("book after %q: %+v", st.Name, b)
	}
	var txt, js bytes.Buffer
	if err := audit.WriteBookText(&txt, b); err != nil {
		t.Fatal(err)
	}
	golden(t, "book.txt", txt.Bytes())
	if err := audit.WriteBookJSON(&js, b); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(js.Bytes()) {
		t.Fatalf("book JSON is not valid:\n%s", js.Bytes())
	}
	golden(t, "book.json", js.Bytes())
}

func TestBookErrors(t *testing.T) {
	res := scenario(t)
	j := open(t, res.JournalDir)
	if _, err := j.BookAtSeq("GBP/USD", 1); !errors.Is(err, audit.ErrUnknownSymbol) {
		t.Errorf("unknown pair: %v", err)
	}
	head := j.ShardInfo(1).Head.Seq
	if _, err := j.BookAtSeq("USD/JPY", head+1); !errors.Is(err, audit.ErrBeyondHead) {
		t.Errorf("seq after the head: %v", err)
	}
}

// orderEvents are the published order events of the scenario by order id.
func orderEvents(res *audittest.Result) map[engine.OrderID][]engine.Event {
	m := map[engine.OrderID][]engine.Event{}
	for _, ev := range res.Events {
		if audit.IsOrderEvent(ev.Kind) && ev.OrderID != 0 {
			m[ev.OrderID] = append(m[ev.OrderID], ev)
		}
	}
	return m
}

func execIDs[E any](evs []E, id func(*E) uint64) []uint64 {
	var out []uint64
	for i := range evs {
		out = append(out, id(&evs[i]))
	}
	return out
}

func TestOrderByID(t *testing.T) {
	res := scenario(t)
	j := open(t, res.JournalDir)
	byOrder := orderEvents(res)
	if len(byOrder) < 10 {
		t.Fatalf("only %d orders in the scenario", len(byOrder))
	}
	for id, want := range byOrder {
		l, err := j.OrderByID(id)
		if err != nil {
			t.Fatalf("order %d: %v", id, err)
		}
		got := execIDs(l.Events, func(e *audit.Event) uint64 { return e.ExecID })
		// Refusals as too late join the order's life; they carry no order id.
		var extra []uint64
		for _, e := range l.Events {
			if e.OrderID == 0 {
				extra = append(extra, e.ExecID)
			}
		}
		wantIDs := execIDs(want, func(e *engine.Event) uint64 { return e.ExecID })
		if !slices.Equal(slices.DeleteFunc(slices.Clone(got), func(x uint64) bool { return slices.Contains(extra, x) }), wantIDs) {
			t.Errorf("order %d: exec ids %v, published %v", id, got, wantIDs)
		}
		for k := range l.Events {
			e := l.Events[k].Event
			if e.OrderID == 0 {
				continue
			}
			// The journal numbers instruments per shard, the venue globally.
			pub := want[slices.Index(wantIDs, e.ExecID)]
			if l.Events[k].Symbol != res.Config.Instruments[pub.Instrument].Symbol {
				t.Errorf("order %d: event %d is in %s, published in %s", id, e.ExecID, l.Events[k].Symbol, res.Config.Instruments[pub.Instrument].Symbol)
			}
			pub.Instrument = e.Instrument
			if e != pub {
				t.Errorf("order %d: event %d differs from the published one:\n%+v\n%+v", id, e.ExecID, e, pub)
			}
		}
	}
	for _, id := range []engine.OrderID{0, 99, 5<<48 | 1} {
		if _, err := j.OrderByID(id); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("order %d: %v, want ErrNotFound", id, err)
		}
	}
}

func TestOrdersByClOrdID(t *testing.T) {
	res := scenario(t)
	j := open(t, res.JournalDir)
	type life struct {
		id     engine.OrderID
		events []string
	}
	summary := func(ls []*audit.OrderLife) []life {
		var out []life
		for _, l := range ls {
			var evs []string
			for _, e := range l.Events {
				evs = append(evs, e.Kind.String()+":"+e.ClOrdID.String())
			}
			out = append(out, life{l.OrderID, evs})
		}
		return out
	}
	for _, tc := range []struct {
		party, clOrdID string
		want           []life
	}{
		// Used on both days; on day 1 a cancel of it was refused as too late.
		{"BANKA", "a1", []life{
			{1, []string{"accepted:a1", "fill:a1", "cancelreject:a1x"}},
			{9, []string{"accepted:a1", "fill:a1"}},
		}},
		// A name in the middle of a replace chain finds the whole life.
		{"BANKA", "a2r", []life{{2, []string{"accepted:a2", "replaced:a2r", "replaced:a2rr", "expired:a2rr"}}}},
		{"BANKA", "a2rr", []life{{2, []string{"accepted:a2", "replaced:a2r", "replaced:a2rr", "expired:a2rr"}}}},
		// The ClOrdID of a cancel request.
		{"BANKB", "b1x", []life{{3, []string{"accepted:b1", "cancelled:b1x"}}}},
		{"BANKB", "b1", []life{
			{3, []string{"accepted:b1", "cancelled:b1x"}},
			{10, []string{"accepted:b1", "fill:b1"}},
		}},
		// Across the roll, then a replace on day 2.
		{"BROKER1", "k1r", []life{{5, []string{"accepted:k1", "fill:k1", "replaced:k1r", "fill:k1r"}}}},
		// Requests that never named an order.
		{"BANKB", "b5", []life{{0, []string{"rejected:b5"}}}},
		{"BANKB", "nope", []life{{0, []string{"cancelreject:zz"}}}},
		{"REGULATOR", "r1", []life{{0, []string{"rejected:r1"}}}},
		// Another shard.
		{"BANKC", "c2", []life{{1<<48 | 3, []string{"accepted:c2"}}}},
	} {
		ls, err := j.OrdersByClOrdID(tc.party, tc.clOrdID)
		if err != nil {
			t.Errorf("%s %s: %v", tc.party, tc.clOrdID, err)
			continue
		}
		if got := summary(ls); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %s:\n got %v\nwant %v", tc.party, tc.clOrdID, got, tc.want)
		}
	}
	if _, err := j.OrdersByClOrdID("BANKZ", "a1"); !errors.Is(err, audit.ErrUnknownParticipant) {
		t.Errorf("unknown participant: %v", err)
	}
	if _, err := j.OrdersByClOrdID("BANKB", "a1"); !errors.Is(err, audit.ErrNotFound) {
		t.Errorf("another participant's ClOrdID: %v", err)
	}

	ls, err := j.OrdersByClOrdID("BANKA", "a1")
	if err != nil {
		t.Fatal(err)
	}
	var txt, js bytes.Buffer
	if err := audit.WriteOrdersText(&txt, ls); err != nil {
		t.Fatal(err)
	}
	golden(t, "orders-a1.txt", txt.Bytes())
	if err := audit.WriteOrdersJSON(&js, ls); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(js.Bytes()) {
		t.Fatalf("orders JSON is not valid:\n%s", js.Bytes())
	}
	golden(t, "orders-a1.json", js.Bytes())
}

func TestTrades(t *testing.T) {
	res := scenario(t)
	j := open(t, res.JournalDir)
	var published []engine.Event
	fills := map[uint64][]engine.Event{}
	for _, ev := range res.Events {
		switch ev.Kind {
		case engine.EvTrade:
			published = append(published, ev)
		case engine.EvFill:
			fills[ev.TradeID] = append(fills[ev.TradeID], ev)
		}
	}
	collect := func(f audit.TradeFilter) []audit.Trade {
		var out []audit.Trade
		if err := j.Trades(f, func(tr *audit.Trade) error { out = append(out, *tr); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := collect(audit.TradeFilter{})
	if len(all) != len(published) || len(all) < 4 {
		t.Fatalf("%d trades, the venue printed %d", len(all), len(published))
	}
	for i, tr := range all {
		p := published[i]
		f := fills[p.TradeID]
		buyer, seller := f[0], f[1]
		if buyer.Side != engine.Buy {
			buyer, seller = seller, buyer
		}
		if tr.TradeID != p.TradeID || tr.Price != p.LastPx || tr.Qty != p.LastQty || tr.Time != p.Time ||
			tr.AggressorSide != p.Side || tr.ValueDate != p.SettlDate || tr.TradeDate != p.TradeDate ||
			tr.Symbol != res.Config.Instruments[p.Instrument].Symbol ||
			tr.Buyer.OrderID != buyer.OrderID || tr.Seller.OrderID != seller.OrderID ||
			tr.Buyer.ClOrdID != buyer.ClOrdID.String() || tr.Seller.Participant != res.Config.Participants[seller.Party-1].ID ||
			tr.Buyer.Aggressor != buyer.Aggressor {
			t.Errorf("trade %d: %+v\npublished %+v\nfills %+v", i, tr, p, f)
		}
	}
	// Filters: a pair, and a window whose ends fall exactly on trades
	// (from inclusive, to exclusive).
	jpy := collect(audit.TradeFilter{Symbol: "USD/JPY"})
	if len(jpy) != 1 || jpy[0].Symbol != "USD/JPY" {
		t.Errorf("USD/JPY trades: %+v", jpy)
	}
	from, to := time.Unix(0, all[1].Time), time.Unix(0, all[3].Time)
	win := collect(audit.TradeFilter{From: from, To: to})
	if len(win) != 2 || win[0].TradeID != all[1].TradeID || win[1].TradeID != all[2].TradeID {
		t.Errorf("trades in [%v, %v): %+v", from, to, win)
	}
	if got := collect(audit.TradeFilter{Symbol: "USD/CNY", From: from}); len(got) != 3 || got[0].TradeID != all[1].TradeID {
		t.Errorf("USD/CNY from %v: %+v", from, got)
	}

	var csvOut, js bytes.Buffer
	cw, err := audit.NewTradeCSV(&csvOut)
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		cw.Write(audit.TradeCSVRecord(&all[i]))
		line := audit.AppendTradeJSON(nil, &all[i])
		if !json.Valid(line) {
			t.Fatalf("trade JSON is not valid: %s", line)
		}
		js.Write(append(line, '\n'))
	}
	cw.Flush()
	golden(t, "trades.csv", csvOut.Bytes())
	golden(t, "trades.jsonl", js.Bytes())
}

func TestOrderEventsExport(t *testing.T) {
	res := scenario(t)
	j := open(t, res.JournalDir)
	var want []uint64
	for _, ev := range res.Events {
		if audit.IsOrderEvent(ev.Kind) {
			want = append(want, ev.ExecID)
		}
	}
	var got []uint64
	var out bytes.Buffer
	var last audit.Event
	err := j.OrderEvents(func(ev *audit.Event) error {
		if ev.Time < last.Time || ev.Time == last.Time && (ev.Shard < last.Shard || ev.Shard == last.Shard && ev.ExecID <= last.ExecID) {
			t.Errorf("event %d comes after %d", ev.ExecID, last.ExecID)
		}
		last = *ev
		got = append(got, ev.ExecID)
		line := audit.AppendEventJSON(nil, ev)
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("not JSON: %s: %v", line, err)
		}
		for _, k := range []string{"participant", "order_id", "clordid", "orig_clordid", "side", "symbol", "price", "qty",
			"leaves", "cum", "ord_type", "tif", "event", "reason", "time", "seq", "shard", "exec_id", "trade_date"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("no %q in %s", k, line)
			}
		}
		out.Write(append(line, '\n'))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("exported exec ids %v\npublished order events %v", got, want)
	}
	golden(t, "export.jsonl", out.Bytes())
}

func TestEventJSONEscaping(t *testing.T) {
	for _, s := range []string{`a"b\c`, "tab\there", "nl\n\x01\x1f", "caf\xc3\xa9", "bad\xff\xfeutf8", "</script>"} {
		ev := audit.Event{Participant: s, Event: engine.Event{Kind: engine.EvAccepted, ClOrdID: engine.MustID(s), Side: engine.Buy, OrdType: engine.Limit}}
		line := audit.AppendEventJSON(nil, &ev)
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%q: %s: %v", s, line, err)
		}
		want := string([]rune(s)) // invalid bytes become U+FFFD, as encoding/json does
		if m["clordid"] != want || m["participant"] != want {
			t.Errorf("%q came back as %q", s, m["clordid"])
		}
	}
}

func TestOpenRefusesJournalsWithoutConfig(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(dir, journal.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if _, err := audit.Open(dir, audit.Options{Logger: quiet()}); !errors.Is(err, audit.ErrNoConfig) {
		t.Fatalf("journal without metadata: %v", err)
	}
	j, err = journal.Open(dir, journal.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	j.SetMeta("config", []byte(`[{"Shard":0,"Participants":[],"Surprise":1}]`))
	j.Close()
	if _, err := audit.Open(dir, audit.Options{Logger: quiet()}); !errors.Is(err, audit.ErrNoConfig) {
		t.Fatalf("configuration with an unknown field: %v", err)
	}
}

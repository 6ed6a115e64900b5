package journal

import (
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fxmatch/engine"
)

var seedFlag = flag.Uint64("seed", 0, "seed for randomized tests (0: pick one and print it)")

// testRand returns a seeded source and logs the seed so a failure can be
// replayed with -seed.
func testRand(t testing.TB) *rand.Rand {
	seed := *seedFlag
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (rerun with -seed=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// randInt64 draws from a mix of zero, small, large and extreme values, so
// every varint length and both signs are exercised.
func randInt64(r *rand.Rand) int64 {
	switch r.IntN(8) {
	case 0:
		return 0
	case 1:
		return math.MinInt64
	case 2:
		return math.MaxInt64
	case 3:
		return int64(r.Uint64())
	case 4:
		return -int64(r.IntN(1000))
	default:
		return int64(r.IntN(1 << (7 * (1 + r.IntN(8)))))
	}
}

func randUint64(r *rand.Rand) uint64 { return uint64(randInt64(r)) }

func randByte(r *rand.Rand) uint8 {
	if r.IntN(3) == 0 {
		return 0
	}
	return uint8(r.Uint32())
}

func randU16(r *rand.Rand) uint16 {
	switch r.IntN(4) {
	case 0:
		return 0
	case 1:
		return math.MaxUint16
	}
	return uint16(r.Uint32())
}

func randID(r *rand.Rand) engine.ID {
	n := 0
	switch r.IntN(4) {
	case 0:
	case 1:
		n = engine.MaxIDLen
	default:
		n = r.IntN(engine.MaxIDLen + 1)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return engine.MustID(string(b))
}

func randCommand(r *rand.Rand) engine.Command {
	return engine.Command{
		Seq: randUint64(r), Time: randInt64(r), Kind: engine.CommandKind(randByte(r)),
		Party: engine.PartyID(randU16(r)), Instrument: engine.InstrumentID(randU16(r)),
		Side: engine.Side(randByte(r)), OrdType: engine.OrdType(randByte(r)), TIF: engine.TIF(randByte(r)),
		PostOnly: r.IntN(2) == 0, Scope: engine.MassScope(randByte(r)), Reason: engine.Reason(randByte(r)),
		Price: engine.Price(randInt64(r)), Qty: engine.Qty(randInt64(r)), MinQty: engine.Qty(randInt64(r)),
		MaxFloor: engine.Qty(randInt64(r)), ExpireTime: randInt64(r), Directed: engine.PartyID(randU16(r)),
		ClOrdID: randID(r), OrigClOrdID: randID(r), Account: randID(r),
		Counterparty: engine.PartyID(randU16(r)), CreditLimit: randInt64(r),
		TradeDate: engine.Date(int32(randInt64(r))),
	}
}

func randEvent(r *rand.Rand, c *engine.Command) engine.Event {
	e := engine.Event{
		Kind: engine.EventKind(randByte(r)), Seq: c.Seq, Time: c.Time, ExecID: randUint64(r),
		Party: engine.PartyID(randU16(r)), Instrument: engine.InstrumentID(randU16(r)),
		OrderID: engine.OrderID(randUint64(r)), Side: engine.Side(randByte(r)),
		OrdType: engine.OrdType(randByte(r)), TIF: engine.TIF(randByte(r)), Reason: engine.Reason(randByte(r)),
		Price: engine.Price(randInt64(r)), OrderQty: engine.Qty(randInt64(r)),
		LeavesQty: engine.Qty(randInt64(r)), CumQty: engine.Qty(randInt64(r)), AvgPx: engine.Price(randInt64(r)),
		Displayed: engine.Qty(randInt64(r)), ExpireTime: randInt64(r),
		ClOrdID: randID(r), OrigClOrdID: randID(r), Account: randID(r),
		LastQty: engine.Qty(randInt64(r)), LastPx: engine.Price(randInt64(r)),
		Counterparty: engine.PartyID(randU16(r)), TradeID: randUint64(r), Aggressor: r.IntN(2) == 0,
		TradeDate: engine.Date(int32(randInt64(r))), SettlDate: engine.Date(int32(randInt64(r))),
		RespondingTo: engine.CommandKind(randByte(r)), Action: engine.LevelAction(randByte(r)),
		Count: randInt64(r), CreditLimit: randInt64(r),
	}
	// Events normally share the command's Seq and Time; sometimes not, so
	// the delta path is exercised in both directions.
	if r.IntN(4) == 0 {
		e.Seq = randUint64(r)
	}
	if r.IntN(4) == 0 {
		e.Time = randInt64(r)
	}
	// Events usually repeat their command's identifiers, in any field.
	pick := func() engine.ID {
		switch r.IntN(4) {
		case 0:
			return c.ClOrdID
		case 1:
			return c.OrigClOrdID
		case 2:
			return c.Account
		}
		return randID(r)
	}
	if r.IntN(2) == 0 {
		e.ClOrdID, e.OrigClOrdID, e.Account = pick(), pick(), pick()
	}
	return e
}

func TestRecordRoundTrip(t *testing.T) {
	r := testRand(t)
	var buf []byte
	var events []engine.Event
	for range 20000 {
		c := randCommand(r)
		evs := make([]engine.Event, r.IntN(8))
		for i := range evs {
			evs[i] = randEvent(r, &c)
		}
		buf = AppendRecord(buf[:0], &c, evs)
		var got engine.Command
		var err error
		events, err = DecodeRecord(buf, &got, events[:0])
		if err != nil {
			t.Fatalf("decode: %v\ncommand %+v", err, c)
		}
		if got != c {
			t.Fatalf("command round trip:\n got %+v\nwant %+v", got, c)
		}
		if len(events) != len(evs) {
			t.Fatalf("%d events back, want %d", len(events), len(evs))
		}
		for i := range evs {
			if events[i] != evs[i] {
				t.Fatalf("event %d round trip:\n got %+v\nwant %+v", i, events[i], evs[i])
			}
		}
		if s, ok := recordSeq(buf); !ok || s != c.Seq {
			t.Fatalf("recordSeq = %d, %v; want %d", s, ok, c.Seq)
		}
		n, err := DecodeCommand(AppendCommand(nil, &c), &got)
		if err != nil || got != c || n != len(AppendCommand(nil, &c)) {
			t.Fatalf("DecodeCommand: %v %+v", err, got)
		}
	}
}

// TestMaxRecord encodes the largest possible record fields: every field
// set to its widest value, every ID at 47 bytes.
func TestMaxRecord(t *testing.T) {
	long := engine.MustID(strings.Repeat("\xff", engine.MaxIDLen))
	c := engine.Command{Seq: math.MaxUint64, Time: math.MinInt64, Kind: 255, Party: math.MaxUint16,
		Instrument: math.MaxUint16, Side: 255, OrdType: 255, TIF: 255, PostOnly: true, Scope: 255, Reason: 255,
		Price: math.MinInt64, Qty: math.MinInt64, MinQty: math.MinInt64, MaxFloor: math.MinInt64,
		ExpireTime: math.MinInt64, Directed: math.MaxUint16, ClOrdID: long, OrigClOrdID: long, Account: long,
		Counterparty: math.MaxUint16, CreditLimit: math.MinInt64, TradeDate: math.MinInt32}
	e := engine.Event{Kind: 255, Seq: 0, Time: math.MaxInt64, ExecID: math.MaxUint64, Party: math.MaxUint16,
		Instrument: math.MaxUint16, OrderID: math.MaxUint64, Side: 255, OrdType: 255, TIF: 255, Reason: 255,
		Price: math.MinInt64, OrderQty: math.MinInt64, LeavesQty: math.MinInt64, CumQty: math.MinInt64,
		AvgPx: math.MinInt64, Displayed: math.MinInt64, ExpireTime: math.MinInt64, ClOrdID: long,
		OrigClOrdID: long, Account: long, LastQty: math.MinInt64, LastPx: math.MinInt64,
		Counterparty: math.MaxUint16, TradeID: math.MaxUint64, Aggressor: true, TradeDate: math.MinInt32,
		SettlDate: math.MaxInt32, RespondingTo: 255, Action: 255, Count: math.MinInt64, CreditLimit: math.MinInt64}
	evs := []engine.Event{e, e}
	evs[1].ExecID, evs[1].OrderID, evs[1].TradeID = 0, 0, 0
	buf := AppendRecord(nil, &c, evs)
	var got engine.Command
	out, err := DecodeRecord(buf, &got, nil)
	if err != nil || got != c || len(out) != 2 || out[0] != evs[0] || out[1] != evs[1] {
		t.Fatalf("max record does not round-trip: %v", err)
	}
	t.Logf("max record with 2 events: %d bytes", len(buf))
}

// TestDecodeTruncated: every prefix and every single-byte change of a
// record decodes to an error or to some record, never a panic, and a
// prefix is always an error.
func TestDecodeTruncated(t *testing.T) {
	r := testRand(t)
	for range 200 {
		c := randCommand(r)
		evs := []engine.Event{randEvent(r, &c), randEvent(r, &c)}
		buf := AppendRecord(nil, &c, evs)
		var got engine.Command
		for n := range len(buf) {
			if _, err := DecodeRecord(buf[:n], &got, nil); !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("prefix of %d/%d bytes: err %v", n, len(buf), err)
			}
		}
		for i := range buf {
			mod := append([]byte(nil), buf...)
			mod[i] ^= byte(1 + r.IntN(255))
			DecodeRecord(mod, &got, nil)
		}
	}
}

func TestRecordVersion(t *testing.T) {
	c := engine.Command{Seq: 1}
	buf := AppendRecord(nil, &c, nil)
	buf[0] = 9
	if _, err := DecodeRecord(buf, &c, nil); !errors.Is(err, ErrVersion) {
		t.Fatalf("err %v, want ErrVersion", err)
	}
}

func TestEncodeDecodeAllocs(t *testing.T) {
	r := testRand(t)
	c := randCommand(r)
	evs := []engine.Event{randEvent(r, &c), randEvent(r, &c), randEvent(r, &c)}
	buf := make([]byte, 0, 4096)
	out := make([]engine.Event, 0, 8)
	var got engine.Command
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendRecord(buf[:0], &c, evs)
		out, _ = DecodeRecord(buf, &got, out[:0])
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per encode+decode, want 0", allocs)
	}
}

// TestGoldenRecord pins the encoding: a change to the format must be a
// deliberate new version, not an accident. Run with -rewrite to update
// testdata/record.hex after bumping RecordVersion.
func TestGoldenRecord(t *testing.T) {
	c := engine.Command{Seq: 42, Time: 1_700_000_000_000_000_000, Kind: engine.CmdNewOrder, Party: 3,
		Instrument: 1, Side: engine.Buy, OrdType: engine.Limit, TIF: engine.GTC, Price: 710_200_000,
		Qty: 1_000_000, ClOrdID: engine.MustID("ORD-1"), Account: engine.MustID("ACC")}
	evs := []engine.Event{
		{Kind: engine.EvAccepted, Seq: 42, Time: c.Time, ExecID: 100, Party: 3, Instrument: 1, OrderID: 7,
			Side: engine.Buy, OrdType: engine.Limit, TIF: engine.GTC, Price: 710_200_000, OrderQty: 1_000_000,
			LeavesQty: 1_000_000, ClOrdID: c.ClOrdID, Account: c.Account},
		{Kind: engine.EvLevel, Seq: 42, Time: c.Time, ExecID: 101, Instrument: 1, Side: engine.Buy,
			Price: 710_200_000, OrderQty: 1_000_000, Count: 1},
	}
	got := hexDump(AppendRecord(nil, &c, evs))
	path := filepath.Join("testdata", "record.hex")
	if *rewrite {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("record encoding changed:\n got %s\nwant %s", got, want)
	}
}

var rewrite = flag.Bool("rewrite", false, "rewrite golden files in testdata")

func hexDump(b []byte) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%16 == 0 {
			sb.WriteByte('\n')
		} else if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&15])
	}
	sb.WriteByte('\n')
	return sb.String()
}

func FuzzDecodeRecord(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		c := randCommand(r)
		f.Add(AppendRecord(nil, &c, []engine.Event{randEvent(r, &c)}))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c engine.Command
		evs, err := DecodeRecord(b, &c, nil)
		if err != nil {
			return
		}
		// What decodes must survive a re-encoding unchanged.
		var c2 engine.Command
		evs2, err := DecodeRecord(AppendRecord(nil, &c, evs), &c2, nil)
		if err != nil || c2 != c || len(evs2) != len(evs) {
			t.Fatalf("re-encoded record: %v", err)
		}
		for i := range evs {
			if evs[i] != evs2[i] {
				t.Fatalf("event %d changed on re-encoding", i)
			}
		}
	})
}

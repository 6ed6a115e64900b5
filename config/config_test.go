package config

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"fxmatch/engine"
)

// sameContent compares two configurations by what they say, not by where
// they came from (the unexported source and line index).
func sameContent(a, b *Config) bool {
	x, y := *a, *b
	x.source, x.lines, y.source, y.lines = "", nil, "", nil
	return reflect.DeepEqual(x, y)
}

func TestExampleIsDemo(t *testing.T) {
	demo := Demo()
	if err := demo.Validate(); err != nil {
		t.Fatalf("Demo() is invalid: %v", err)
	}
	got, err := Parse(Example(), "example.toml")
	if err != nil {
		t.Fatalf("the example does not parse: %v", err)
	}
	if !sameContent(got, demo) {
		t.Errorf("the example differs from Demo():\nexample: %+v\ndemo:    %+v", *got, *demo)
	}
	// The example is what an operator reads: every section and every key
	// of the format must appear in it, written or commented out.
	for _, key := range []string{
		"[venue]", "roll_time", "roll_zone", "trade_date", "durability", "data_dir", "live_orders_max", "orders_per_day_expected",
		"[listen]", "fix =", "http =", "nats =", "fix_tls_cert =", "fix_tls_key =",
		"[[participant]]", "id =", "role =", "password_hash", "smp =", "cancel_on_disconnect", "throttle_per_second", "drop_copy",
		"[[credit]]", "between", "limit_usd",
		"[[instrument]]", "symbol", "tick", "lot", "qty_min", "qty_max", "ref_price", "band_percent", "usd_rate",
		"[holidays]", "[[shard]]", "instruments",
		"[risk]", "enabled", "review_threshold", "block_threshold", "deadline", "on_failure", "shared_sources",
	} {
		if !bytes.Contains(Example(), []byte(key)) {
			t.Errorf("the example does not mention %q", key)
		}
	}
}

func TestDemoIsFresh(t *testing.T) {
	a := Demo()
	a.Participants[0].ID = "CHANGED"
	a.Instruments[0].Lot = 1
	if b := Demo(); b.Participants[0].ID != "BANKA" || b.Instruments[0].Lot != 100_000 {
		t.Fatal("Demo() returned shared state")
	}
}

// TestDemoMatchesRoE spot-checks the engine configuration of the demo
// against the tables of sections 1 and 2 of the FIX Rules of Engagement.
func TestDemoMatchesRoE(t *testing.T) {
	c := Demo()
	ec, err := c.EngineConfig(0, 20261125)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.New(ec); err != nil {
		t.Fatalf("engine.New refuses the demo: %v", err)
	}
	wantParties := []engine.Participant{
		{},
		{Name: "BANKA", CanTrade: true},
		{Name: "BANKB", CanTrade: true},
		{Name: "BANKC", CanTrade: true},
		{Name: "BROKER1", CanTrade: true},
		{Name: "REGULATOR", CanTrade: false},
	}
	if !reflect.DeepEqual(ec.Participants, wantParties) {
		t.Errorf("participants = %+v, want %+v", ec.Participants, wantParties)
	}
	wantInst := map[string]struct {
		base, term string
		tick, ref  engine.Price
	}{
		"USD/CNY": {"USD", "CNY", 10_000, 710_000_000},
		"EUR/USD": {"EUR", "USD", 1_000, 108_000_000},
		"USD/JPY": {"USD", "JPY", 100_000, 15_000_000_000},
		"EUR/CNY": {"EUR", "CNY", 10_000, 770_000_000},
	}
	if len(ec.Instruments) != len(wantInst) {
		t.Fatalf("%d instruments, want %d", len(ec.Instruments), len(wantInst))
	}
	for _, in := range ec.Instruments {
		w, ok := wantInst[in.Symbol]
		if !ok {
			t.Errorf("unexpected instrument %s", in.Symbol)
			continue
		}
		if in.Base != w.base || in.Term != w.term || in.Tick != w.tick || in.RefPrice != w.ref {
			t.Errorf("%s: base %s term %s tick %d ref %d; want %s %s %d %d", in.Symbol, in.Base, in.Term, in.Tick, in.RefPrice, w.base, w.term, w.tick, w.ref)
		}
		if in.Lot != 100_000 || in.MinQty != 100_000 || in.MaxQty != 500_000_000 || in.BandBP != 200 || in.USDRate != 0 {
			t.Errorf("%s: lot %d min %d max %d band %d bp usd rate %d", in.Symbol, in.Lot, in.MinQty, in.MaxQty, in.BandBP, in.USDRate)
		}
	}
	limit := func(a, b engine.PartyID) int64 {
		for _, l := range ec.CreditLines {
			if (l.A == a && l.B == b) || (l.A == b && l.B == a) {
				return l.Limit
			}
		}
		return 0
	}
	const bankA, bankB, bankC, broker, regulator = 1, 2, 3, 4, 5
	for _, tc := range []struct {
		a, b engine.PartyID
		want int64
	}{
		{bankA, bankB, 5_000_000_000}, {bankA, broker, 5_000_000_000}, {bankB, bankC, 5_000_000_000},
		{bankB, broker, 5_000_000_000}, {bankC, broker, 5_000_000_000}, {bankA, bankC, 0},
		{regulator, bankA, 0},
	} {
		if got := limit(tc.a, tc.b); got != tc.want {
			t.Errorf("credit %s-%s = %d, want %d", ec.Participants[tc.a].Name, ec.Participants[tc.b].Name, got, tc.want)
		}
	}
	for _, p := range c.Participants {
		if p.CancelOnDisconnect != (p.ID == "BANKC") {
			t.Errorf("%s cancel_on_disconnect = %v", p.ID, p.CancelOnDisconnect)
		}
		if p.ThrottlePerSecond != 50_000 || !c.VerifyPassword(p.ID, "demo") {
			t.Errorf("%s: throttle %d or password not demo", p.ID, p.ThrottlePerSecond)
		}
	}
	if reg, _ := c.Participant("REGULATOR"); !reflect.DeepEqual(reg.DropCopy, []string{"*"}) {
		t.Errorf("REGULATOR drop copy = %q, want everyone", reg.DropCopy)
	}
	if c.Listen.FIX != "127.0.0.1:9878" || c.Venue.RollTime != "17:00" || c.Venue.RollZone != "America/New_York" || !c.Durable() {
		t.Errorf("venue/listen defaults wrong: %+v %+v", c.Venue, c.Listen)
	}
}

// TestBadFiles parses each testdata/bad/*.toml; its "# want:" first line
// is the start of the error it must produce, file name, line, key and
// value included.
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _ := bufio.NewReader(bytes.NewReader(data)).ReadString('\n')
			want, ok := strings.CutPrefix(strings.TrimSpace(first), "# want: ")
			if !ok {
				t.Fatalf("first line %q is not a # want: line", first)
			}
			_, err = Load(f)
			if err == nil {
				t.Fatalf("Load accepted it; want %q", want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error\n  %s\nwant it to start with\n  %s", err, want)
			}
		})
	}
}

// TestValidateErrors breaks one thing of the demo at a time. Every error
// must name the key and quote the value as written.
func TestValidateErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"roll time", func(c *Config) { c.Venue.RollTime = "25:00" }, `venue.roll_time: "25:00" is not a time of day`},
		{"roll time format", func(c *Config) { c.Venue.RollTime = "5pm" }, `venue.roll_time: "5pm"`},
		{"roll zone", func(c *Config) { c.Venue.RollZone = "America/NewYork" }, `venue.roll_zone: unknown time zone "America/NewYork"`},
		{"roll zone local", func(c *Config) { c.Venue.RollZone = "Local" }, `venue.roll_zone: "Local" is not a fixed time zone`},
		{"trade date", func(c *Config) { c.Venue.TradeDate = "2026-02-30" }, `venue.trade_date: "2026-02-30" is not a date`},
		{"trade date weekend", func(c *Config) { c.Venue.TradeDate = "2026-11-28" }, `venue.trade_date: "2026-11-28" is a Saturday`},
		{"durability", func(c *Config) { c.Venue.Durability = "fsync" }, `venue.durability: unknown mode "fsync"`},
		{"data dir", func(c *Config) { c.Venue.DataDir = " " }, `venue.data_dir: must name a directory`},
		{"live orders", func(c *Config) { c.Venue.LiveOrdersMax = -1 }, `venue.live_orders_max: -1 is out of range`},
		{"orders per day", func(c *Config) { c.Venue.OrdersPerDayExpected = 1 << 30 }, `venue.orders_per_day_expected: 1073741824 is out of range`},
		{"fix address", func(c *Config) { c.Listen.FIX = "127.0.0.1" }, `listen.fix: "127.0.0.1" is not a host:port address`},
		{"http port", func(c *Config) { c.Listen.HTTP = "127.0.0.1:80800" }, `listen.http: "127.0.0.1:80800" has no valid port number`},
		{"nats port", func(c *Config) { c.Listen.NATS = "127.0.0.1:nats" }, `listen.nats: "127.0.0.1:nats" has no valid port number`},
		{"no participants", func(c *Config) { c.Participants = nil; c.Credit = nil }, `participant: no participants`},
		{"compid", func(c *Config) { c.Participants[1].ID = "BANK B" }, `participant[1].id: "BANK B" is not a usable CompID`},
		{"compid venue", func(c *Config) { c.Participants[1].ID = "FXMATCH" }, `participant[1].id: "FXMATCH" is the venue's own CompID`},
		{"compid twice", func(c *Config) { c.Participants[3].ID = "BANKA" }, `participant[3].id: "BANKA" is already participant[0]`},
		{"role", func(c *Config) { c.Participants[0].Role = "dealer" }, `participant[0].role: unknown role "dealer" (want bank, broker or regulator)`},
		{"smp", func(c *Config) { c.Participants[2].SMP = "cancel-all" }, `participant[2].smp: unknown mode "cancel-all" (want cancel-resting, cancel-incoming, cancel-both or off)`},
		{"throttle", func(c *Config) { c.Participants[4].ThrottlePerSecond = -5 }, `participant[4].throttle_per_second: -5 is not a rate`},
		{"password hash", func(c *Config) { c.Participants[1].PasswordHash = "hunter2" }, `participant[1].password_hash: not a bcrypt hash`},
		{"drop copy unknown", func(c *Config) { c.Participants[4].DropCopy = []string{"BANKA", "BANKZ"} }, `participant[4].drop_copy[1]: unknown participant "BANKZ"`},
		{"drop copy star", func(c *Config) { c.Participants[4].DropCopy = []string{"BANKA", "*"} }, `participant[4].drop_copy[1]: "*" (everyone) must be the only entry`},
		{"drop copy self", func(c *Config) { c.Participants[4].DropCopy = []string{"REGULATOR"} }, `participant[4].drop_copy[0]: "REGULATOR" is the participant itself`},
		{"drop copy twice", func(c *Config) { c.Participants[4].DropCopy = []string{"BANKA", "BANKA"} }, `participant[4].drop_copy[1]: "BANKA" is listed twice`},
		{"credit arity", func(c *Config) { c.Credit[2].Between = []string{"BANKA"} }, `credit[2].between: ["BANKA"] must name exactly two participants`},
		{"credit unknown", func(c *Config) { c.Credit[2].Between[1] = "BROKER9" }, `credit[2].between[1]: unknown participant "BROKER9"`},
		{"credit regulator", func(c *Config) { c.Credit[0].Between[0] = "REGULATOR" }, `credit[0].between[0]: "REGULATOR" is a regulator and cannot trade`},
		{"credit self", func(c *Config) { c.Credit[0].Between = []string{"BANKB", "BANKB"} }, `credit[0].between: a line needs two different participants, got "BANKB" twice`},
		{"credit twice", func(c *Config) { c.Credit[5].Between = []string{"BANKB", "BANKA"} }, `credit[5].between: the pair BANKA–BANKB already has credit[0]`},
		{"credit negative", func(c *Config) { c.Credit[1].LimitUSD = -1 }, `credit[1].limit_usd: -1 is negative`},
		{"no instruments", func(c *Config) { c.Instruments = nil }, `instrument: no instruments`},
		{"symbol", func(c *Config) { c.Instruments[1].Symbol = "EURUSD" }, `instrument[1].symbol: "EURUSD" is not a currency pair`},
		{"symbol same ccy", func(c *Config) { c.Instruments[1].Symbol = "USD/USD" }, `instrument[1].symbol: "USD/USD" is not a currency pair`},
		{"symbol twice", func(c *Config) { c.Instruments[3].Symbol = "USD/CNY" }, `instrument[3].symbol: "USD/CNY" is already instrument[0]`},
		{"tick nine decimals", func(c *Config) { c.Instruments[0].Tick = MustDecimal("0.000000001") }, `instrument[0].tick: "0.000000001" has more than 8 decimal places`},
		{"tick zero", func(c *Config) { c.Instruments[0].Tick = MustDecimal("0") }, `instrument[0].tick: "0" must be positive`},
		{"tick missing", func(c *Config) { c.Instruments[0].Tick = Decimal{} }, `instrument[0].tick: "" is not a decimal number`},
		{"tick text", func(c *Config) { c.Instruments[0].Tick = MustDecimal("one pip") }, `instrument[0].tick: "one pip" is not a decimal number`},
		{"tick float", func(c *Config) { c.Instruments[0].Tick = Decimal{text: "0.0001", float: true} }, `instrument[0].tick: 0.0001 is a TOML float`},
		{"lot", func(c *Config) { c.Instruments[2].Lot = 0 }, `instrument[2].lot: 0 is not a lot`},
		{"qty min", func(c *Config) { c.Instruments[2].QtyMin = 150_000 }, `instrument[2].qty_min: 150000 must be a positive multiple of the lot 100000`},
		{"qty max", func(c *Config) { c.Instruments[2].QtyMax = 50_000 }, `instrument[2].qty_max: 50000 must be a multiple of the lot 100000`},
		{"ref price off tick", func(c *Config) { c.Instruments[0].RefPrice = MustDecimal("7.10005") }, `instrument[0].ref_price: "7.10005" is not a multiple of the tick 0.0001`},
		{"ref price too large", func(c *Config) { c.Instruments[0].RefPrice = MustDecimal("99999999999") }, `instrument[0].ref_price: "99999999999" is too large`},
		{"band bp", func(c *Config) { c.Instruments[1].BandPercent = MustDecimal("2.125") }, `instrument[1].band_percent: "2.125" has more than 2 decimal places of a percent`},
		{"band 100", func(c *Config) { c.Instruments[1].BandPercent = MustDecimal("100") }, `instrument[1].band_percent: "100" is not below 100 percent`},
		{"band negative", func(c *Config) { c.Instruments[1].BandPercent = MustDecimal("-2") }, `instrument[1].band_percent: "-2" must be positive`},
		{"usd rate on usd pair", func(c *Config) { c.Instruments[0].USDRate = MustDecimal("1") }, `instrument[0].usd_rate: set for USD/CNY`},
		{"usd rate bad", func(c *Config) { c.Instruments[3].USDRate = MustDecimal("1.0x") }, `instrument[3].usd_rate: "1.0x" is not a decimal number`},
		{"holiday ccy", func(c *Config) { c.Holidays = map[string][]string{"usd": {"2026-12-25"}} }, `holidays.usd: "usd" is not a currency code`},
		{"holiday date", func(c *Config) { c.Holidays = map[string][]string{"USD": {"2026-12-25", "25/12/2026"}} }, `holidays.USD[1]: "25/12/2026" is not a date`},
		{"no shards", func(c *Config) { c.Shards = nil }, `shard: no shards`},
		{"empty shard", func(c *Config) { c.Shards = append(c.Shards, Shard{}) }, `shard[1].instruments: empty shard`},
		{"shard unknown", func(c *Config) { c.Shards[0].Instruments[1] = "GBP/USD" }, `shard[0].instruments[1]: unknown instrument "GBP/USD"`},
		{"shard missing", func(c *Config) { c.Shards[0].Instruments = c.Shards[0].Instruments[:3] }, `instrument[3].symbol: "EUR/CNY" is in no [[shard]]`},
		{"shard split needs rate", func(c *Config) {
			c.Shards = []Shard{{Instruments: []string{"USD/CNY", "EUR/USD", "USD/JPY"}}, {Instruments: []string{"EUR/CNY"}}}
		}, `instrument[3].usd_rate: EUR/CNY needs a usd_rate: neither currency is USD and shard[1] runs no EUR/USD or USD/EUR`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Demo()
			tc.change(c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate accepted it; want %q", tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not match ErrInvalid", err)
			}
			if want := "config: " + tc.want; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error\n  %s\nwant it to start with\n  %s", err, want)
			}
		})
	}
}

func TestDecimalConversion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want engine.Price
		msg  string // "" if it converts
	}{
		{"0.0001", 10_000, ""},
		{"0.00000001", 1, ""},
		{"7.10000000000", 710_000_000, ""}, // trailing zeros beyond 8 places are exact
		{"150", 15_000_000_000, ""},
		{"1e-4", 10_000, ""},
		{"0.000000001", 0, "more than 8 decimal places"},
		{"7.100000001", 0, "more than 8 decimal places"},
		{"0", 0, "must be positive"},
		{"-0.0001", 0, "must be positive"},
		{"11258999.06842624", 1 << 50, ""}, // the engine's largest price
		{"11258999.06842625", 0, "too large"},
		{"0x10", 0, "not a decimal number"},
	} {
		got, msg := MustDecimal(tc.in).Price()
		if tc.msg == "" && (msg != "" || got != tc.want) {
			t.Errorf("Price(%q) = %d, %q; want %d", tc.in, got, msg, tc.want)
		}
		if tc.msg != "" && !strings.Contains(msg, tc.msg) {
			t.Errorf("Price(%q) = %d, %q; want an error containing %q", tc.in, got, msg, tc.msg)
		}
	}
	for in, want := range map[string]int64{"2": 200, "0.25": 25, "0.01": 1, "99.99": 9999} {
		if got, msg := MustDecimal(in).BasisPoints(); got != want || msg != "" {
			t.Errorf("BasisPoints(%q) = %d, %q; want %d", in, got, msg, want)
		}
	}
	if _, msg := MustDecimal("0.005").BasisPoints(); msg == "" {
		t.Error("BasisPoints(0.005) accepted half a basis point")
	}
}

func TestTwoShards(t *testing.T) {
	c, err := Load("testdata/two-shards.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Source() != "testdata/two-shards.toml" || c.Durable() {
		t.Errorf("source %q durable %v", c.Source(), c.Durable())
	}
	// Defaults fill what the file leaves out, and only that.
	if c.Venue.RollTime != "17:00" || c.Listen.HTTP != DefaultHTTPAddr || c.Listen.FIX != "0.0.0.0:9878" || c.Participants[0].SMP != "cancel-resting" {
		t.Errorf("defaults: %+v %+v %q", c.Venue, c.Listen, c.Participants[0].SMP)
	}
	if d := c.StartTradeDate(mustTime(t, "2027-03-03T12:00:00Z")); d != 20261125 {
		t.Errorf("StartTradeDate = %d, want the configured 20261125", d)
	}
	var total int64
	for shard, want := range []struct {
		symbol string
		credit int64
		rate   engine.Price
	}{
		{"EUR/USD", 2_500_000_001, 0},
		{"EUR/CNY", 2_500_000_000, 108_000_000},
	} {
		ec, err := c.EngineConfig(shard, 20261125)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := engine.New(ec); err != nil {
			t.Fatalf("shard %d: engine.New: %v", shard, err)
		}
		if ec.Shard != uint16(shard) || len(ec.Instruments) != 1 || ec.Instruments[0].Symbol != want.symbol || ec.Instruments[0].USDRate != want.rate {
			t.Errorf("shard %d: %+v", shard, ec.Instruments)
		}
		// The same PartyIDs in every shard: the file's order.
		if len(ec.Participants) != 4 || ec.Participants[1].Name != "ALPHA" || ec.Participants[2].SMP != engine.SMPCancelBoth || ec.Participants[3].CanTrade {
			t.Errorf("shard %d participants: %+v", shard, ec.Participants)
		}
		if len(ec.CreditLines) != 1 || ec.CreditLines[0] != (engine.CreditLine{A: 2, B: 1, Limit: want.credit}) {
			t.Errorf("shard %d credit: %+v, want %d", shard, ec.CreditLines, want.credit)
		}
		total += ec.CreditLines[0].Limit
		if got := ec.Holidays["USD"]; !reflect.DeepEqual(got, []engine.Date{20261126, 20261225}) {
			t.Errorf("shard %d USD holidays %v", shard, got)
		}
	}
	if total != 5_000_000_001 {
		t.Errorf("shard shares add up to %d, want the whole line 5000000001", total)
	}
	if _, err := c.EngineConfig(2, 20261125); err == nil {
		t.Error("EngineConfig(2) of a two-shard configuration succeeded")
	}
	if _, err := c.EngineConfig(0, 20261131); err == nil {
		t.Error("EngineConfig with trade date 20261131 succeeded")
	}
	if id, ok := c.PartyID("WATCH"); !ok || id != 3 {
		t.Errorf("PartyID(WATCH) = %d, %v", id, ok)
	}
	if s, ok := c.ShardOf("EUR/CNY"); !ok || s != 1 {
		t.Errorf("ShardOf(EUR/CNY) = %d, %v", s, ok)
	}
	if !c.VerifyPassword("ALPHA", "s3cret") || c.VerifyPassword("ALPHA", "demo") {
		t.Error("VerifyPassword disagrees with the file's hash of s3cret")
	}
	// Real passwords: the 0.0.0.0 listener is allowed.
	if err := c.CheckListeners(); err != nil {
		t.Errorf("CheckListeners: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such-file.toml")
	if err == nil || !strings.Contains(err.Error(), "no-such-file.toml") {
		t.Fatalf("Load of a missing file: %v", err)
	}
}

func TestDecimalTOML(t *testing.T) {
	doc := func(tick, ref string) []byte {
		return []byte(`
[[participant]]
id = "A"
role = "bank"
throttle_per_second = 1

[[instrument]]
symbol = "USD/JPY"
tick = ` + tick + `
lot = 1
qty_min = 1
qty_max = 1
ref_price = ` + ref + `
band_percent = 2
`)
	}
	c, err := Parse(doc(`"0.001"`, `150`), "")
	if err != nil {
		t.Fatalf("integer ref_price and band_percent: %v", err)
	}
	ec, err := c.EngineConfig(0, 20260707)
	if err != nil {
		t.Fatal(err)
	}
	if in := ec.Instruments[0]; in.RefPrice != 15_000_000_000 || in.BandBP != 200 || in.Tick != 100_000 {
		t.Errorf("converted %+v", in)
	}
	_, err = Parse(doc(`["0.001"]`, `150`), "")
	if err == nil || !strings.Contains(err.Error(), "want a decimal as a string") {
		t.Errorf("an array as a tick: %v", err)
	}
	_, err = Parse(doc(`"0.001"`, `150.0`), "inline")
	if want := `config: inline:13: instrument[0].ref_price: 150 is a TOML float`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("a float ref_price: %v, want %s", err, want)
	}
}

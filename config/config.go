// Package config is the venue's configuration: one TOML file format, its
// strict decoding, its validation, and the conversion of what an operator
// writes (CompIDs, "0.0001", "17:00 America/New_York") into what the
// matching engine is built from (dense PartyIDs, fixed-point Prices, Dates).
//
// The format is documented by example: Example returns a fully commented
// file (printed by `fxmatch config example`) that is exactly the built-in
// demo configuration of the Rules of Engagement, and a test holds the two
// equal. Three decisions shape the format:
//
//   - Decoding is strict. A key the venue does not know is an error naming
//     the key and its line, because a misspelt key that silently fell back
//     to a default (a throttle, a credit limit) is worse than a refusal to
//     start.
//   - Decimals (ticks, prices, the band) are TOML strings, converted
//     exactly with shopspring/decimal into the engine's 8-decimal fixed
//     point. TOML floats are binary and would round 0.0001; a value that
//     does not fit 8 decimals is an error, never rounded — the same promise
//     the venue makes dealers about their prices.
//   - Config holds what the file says (strings for modes, Decimal for
//     decimals), not the converted values, so that Validate can name the
//     offending key and the value as written. EngineConfig does the
//     conversion once, per shard, at startup.
//
// Every error of Parse and Validate is an *Error, which matches ErrInvalid
// with errors.Is and names the key (participant[2].smp, indices from 0),
// the bad value, and, when the configuration came from a file, the line.
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	// The roll zone must resolve on any machine, including minimal
	// containers without /usr/share/zoneinfo; embedding the database costs
	// about 450 KB of binary.
	_ "time/tzdata"
)

// Config is a venue configuration as written in the file. Load and Parse
// return it validated and with defaults filled in; a Config built by hand
// must pass Validate before its other methods are used.
type Config struct {
	Venue        Venue         `toml:"venue"`
	Listen       Listen        `toml:"listen"`
	Participants []Participant `toml:"participant"`
	Credit       []CreditLine  `toml:"credit"`
	Instruments  []Instrument  `toml:"instrument"`
	// Holidays maps a currency code ("USD") to its non-business days
	// besides Saturday and Sunday, as "2026-12-25". They move SPOT value
	// dates; they do not stop trading.
	Holidays map[string][]string `toml:"holidays"`
	Shards   []Shard             `toml:"shard"`
	// Risk is the pre-trade scoring policy (risk.go).
	Risk Risk `toml:"risk"`
	// NATS is how the venue reaches its bus (nats.go).
	NATS NATS `toml:"nats"`

	// Where the configuration came from, for error messages only: the file
	// name and the line of each key path (see positions.go). Empty for a
	// Config built in code.
	source string
	lines  map[string]int
}

// Venue holds the venue-wide settings.
type Venue struct {
	// RollTime ("17:00") and RollZone ("America/New_York") are when the
	// trading day ends: Day orders expire and credit usage is restored.
	RollTime string `toml:"roll_time"`
	RollZone string `toml:"roll_zone"`
	// TradeDate ("2026-11-25"), if set, is the trade date the venue starts
	// in instead of the one the clock says (see TradeDateAt). It is for
	// tests and replays; leave it empty in production.
	TradeDate string `toml:"trade_date"`
	// Durability is "sync" (an acknowledgement leaves only after its events
	// are synced to disk) or "none" (no sync; for benchmarks only).
	Durability string `toml:"durability"`
	// DataDir holds the journal and snapshots; a relative path is relative
	// to the directory the venue is started in.
	DataDir string `toml:"data_dir"`
	// LiveOrdersMax bounds the resting orders of each shard: the engine
	// rejects an order that would rest beyond it, rather than grow without
	// bound (see engine.Config.MaxLiveOrders).
	LiveOrdersMax int `toml:"live_orders_max"`
	// OrdersPerDayExpected sizes each shard's ClOrdID index up front so the
	// matching path does not grow it. Memory is roughly 100 bytes per order.
	OrdersPerDayExpected int `toml:"orders_per_day_expected"`
}

// Listen holds the addresses the venue's components listen on, as
// host:port. Port 0 picks a free port (for tests).
type Listen struct {
	FIX  string `toml:"fix"`
	HTTP string `toml:"http"`
	NATS string `toml:"nats"`
	// FIXTLSCert and FIXTLSKey, both or neither, are PEM files that make
	// the FIX listener speak TLS (see fixtls.go).
	FIXTLSCert string `toml:"fix_tls_cert"`
	FIXTLSKey  string `toml:"fix_tls_key"`
}

// Participant roles.
const (
	RoleBank      = "bank"
	RoleBroker    = "broker"
	RoleRegulator = "regulator"
)

// Participant is one firm that logs on to the venue.
type Participant struct {
	// ID is the participant's FIX CompID (SenderCompID on its sessions) and
	// its name everywhere else.
	ID string `toml:"id"`
	// Role is bank, broker or regulator. A regulator may not trade: its
	// orders are rejected (readonly:).
	Role string `toml:"role"`
	// PasswordHash is a bcrypt hash ("$2a$…", made by `fxmatch config
	// hash-password`). Empty means an empty password, which is accepted
	// only while every listener is on loopback (see CheckListeners).
	PasswordHash string `toml:"password_hash"`
	// APITokenHash is the SHA-256 (64 hex digits) of the participant's
	// HTTP API bearer token (made by `fxmatch config hash-token`). Empty:
	// no HTTP access, except that a participant with the demo or an empty
	// password gets the demo token (see APITokenHashes).
	APITokenHash string `toml:"api_token_hash"`
	// SMP is the self-match-prevention mode: cancel-resting (the default
	// when empty), cancel-incoming, cancel-both or off.
	SMP string `toml:"smp"`
	// CancelOnDisconnect cancels the participant's resting orders when its
	// last session drops.
	CancelOnDisconnect bool `toml:"cancel_on_disconnect"`
	// ThrottlePerSecond is the most business messages a session may send
	// in a second; excess messages are rejected, never dropped.
	ThrottlePerSecond int `toml:"throttle_per_second"`
	// DropCopy lists the participants whose execution reports this one
	// receives a copy of: their IDs, or ["*"] for all.
	DropCopy []string `toml:"drop_copy"`
}

// CanTrade reports whether the participant may send orders.
func (p *Participant) CanTrade() bool { return p.Role != RoleRegulator }

// CreditLine is a bilateral credit limit in whole USD of notional, consumed
// by fills in both directions and restored at the roll. Pairs without a
// line have no credit: their orders never match.
type CreditLine struct {
	Between  []string `toml:"between"` // two participant IDs
	LimitUSD int64    `toml:"limit_usd"`
}

// Instrument is a currency pair's trading rules.
type Instrument struct {
	Symbol string  `toml:"symbol"` // "USD/CNY": base/term, ISO 4217 codes
	Tick   Decimal `toml:"tick"`   // price increment
	// Lot is the quantity increment in base-currency units; QtyMin and
	// QtyMax bound an order and must be multiples of it.
	Lot    int64 `toml:"lot"`
	QtyMin int64 `toml:"qty_min"`
	QtyMax int64 `toml:"qty_max"`
	// RefPrice is the reference price at the start; it moves to the last
	// trade price.
	RefPrice Decimal `toml:"ref_price"`
	// BandPercent is the price band around the reference price ("2" is
	// ±2%); it must be a whole number of basis points.
	BandPercent Decimal `toml:"band_percent"`
	// USDRate (USD per unit of base currency) converts notional to USD for
	// credit. Needed only when neither currency is USD and no BASE/USD or
	// USD/BASE instrument runs in the same shard, which otherwise supplies
	// a live rate.
	USDRate Decimal `toml:"usd_rate"`
}

// Base is the base currency of the symbol ("USD" of "USD/CNY").
func (in *Instrument) Base() string { b, _, _ := strings.Cut(in.Symbol, "/"); return b }

// Term is the term currency of the symbol ("CNY" of "USD/CNY").
func (in *Instrument) Term() string { _, t, _ := strings.Cut(in.Symbol, "/"); return t }

// Shard is a set of instruments that one matching engine runs together.
type Shard struct {
	Instruments []string `toml:"instruments"`
}

// Durability modes.
const (
	DurabilitySync = "sync"
	DurabilityNone = "none"
)

// Defaults filled in for keys the file leaves out.
const (
	DefaultRollTime             = "17:00"
	DefaultRollZone             = "America/New_York"
	DefaultFIXAddr              = "127.0.0.1:9878"
	DefaultHTTPAddr             = "127.0.0.1:8080"
	DefaultNATSAddr             = "127.0.0.1:4222"
	DefaultDataDir              = "fxmatch-data"
	DefaultLiveOrdersMax        = 1_000_000
	DefaultOrdersPerDayExpected = 100_000
)

// ErrInvalid is matched (errors.Is) by every error that Parse, Load and
// Validate return for a configuration that is not acceptable.
var ErrInvalid = errors.New("config: invalid configuration")

// Error is a configuration error: Key is the path of the offending key
// ("participant[2].smp"), Value the value as written (may be empty), Msg
// what is wrong with it. File and Line say where, when known.
type Error struct {
	File  string
	Line  int
	Key   string
	Value string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes every *Error match ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

//go:embed example.toml
var example []byte

// Example returns the commented example configuration, which is the demo
// configuration (Demo) written out.
func Example() []byte { return append([]byte(nil), example...) }

// Load reads, parses and validates the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes a configuration from data, fills in defaults and validates
// it. name is used in error messages (a file name, or "" for none).
func Parse(data []byte, name string) (*Config, error) {
	c := &Config{source: name, lines: keyLines(data)}
	md, err := toml.NewDecoder(strings.NewReader(string(data))).Decode(c)
	if err != nil {
		return nil, c.decodeError(err)
	}
	if err := c.checkKeys(md); err != nil {
		return nil, err
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeErrRE matches the decoder's type errors, which come as plain
// errors: `toml: line 10 (last key "instrument.lot"): incompatible types…`.
var decodeErrRE = regexp.MustCompile(`^toml: line (\d+) \(last key "(.*)"\): (.*)$`)

// decodeError turns a decoder error into an *Error with the file, the
// line and, for type errors, the indexed key path.
func (c *Config) decodeError(err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: c.source, Line: pe.Position.Line, Msg: pe.Message}
	}
	if m := decodeErrRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		key := m[2]
		for path, l := range c.lines {
			if l == line && indexRE.ReplaceAllString(path, "") == key {
				key = path
			}
		}
		return &Error{File: c.source, Line: line, Key: key, Msg: m[3]}
	}
	return &Error{File: c.source, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
}

// checkKeys refuses keys the format does not have and keys written in
// another case. The decoder matches field names case-insensitively, so
// without the second check "Tick" would be accepted here and mean nothing
// to a reader who greps for "tick".
func (c *Config) checkKeys(md toml.MetaData) error {
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		path, line := c.locate(undecoded[0])
		return &Error{File: c.source, Line: line, Key: path, Msg: "unknown key (see `fxmatch config example` for the format)"}
	}
	for _, k := range md.Keys() {
		for i, part := range k {
			if i == 1 && k[0] == "holidays" {
				continue // currency codes are upper case
			}
			if part != strings.ToLower(part) {
				path, line := c.locate(k)
				return &Error{File: c.source, Line: line, Key: path, Value: part, Msg: fmt.Sprintf("key %q must be written in lower case", part)}
			}
		}
	}
	return nil
}

// applyDefaults fills in what the file left out. Only keys whose zero value
// is not a meaningful setting get a default; a throttle or a credit limit
// must be written down.
func (c *Config) applyDefaults() {
	v := &c.Venue
	if v.RollTime == "" {
		v.RollTime = DefaultRollTime
	}
	if v.RollZone == "" {
		v.RollZone = DefaultRollZone
	}
	if v.Durability == "" {
		v.Durability = DurabilitySync
	}
	if v.DataDir == "" {
		v.DataDir = DefaultDataDir
	}
	if v.LiveOrdersMax == 0 {
		v.LiveOrdersMax = DefaultLiveOrdersMax
	}
	if v.OrdersPerDayExpected == 0 {
		v.OrdersPerDayExpected = DefaultOrdersPerDayExpected
	}
	if c.Listen.FIX == "" {
		c.Listen.FIX = DefaultFIXAddr
	}
	if c.Listen.HTTP == "" {
		c.Listen.HTTP = DefaultHTTPAddr
	}
	if c.Listen.NATS == "" {
		c.Listen.NATS = DefaultNATSAddr
	}
	for i := range c.Participants {
		if c.Participants[i].SMP == "" {
			c.Participants[i].SMP = "cancel-resting"
		}
	}
	if len(c.Holidays) == 0 {
		c.Holidays = nil
	}
	if len(c.Shards) == 0 && len(c.Instruments) > 0 {
		all := make([]string, len(c.Instruments))
		for i := range c.Instruments {
			all[i] = c.Instruments[i].Symbol
		}
		c.Shards = []Shard{{Instruments: all}}
	}
}

// Source is the file the configuration was loaded from ("" if none).
func (c *Config) Source() string { return c.source }

// Participant returns the participant with CompID id.
func (c *Config) Participant(id string) (*Participant, bool) {
	for i := range c.Participants {
		if c.Participants[i].ID == id {
			return &c.Participants[i], true
		}
	}
	return nil, false
}

// Durable reports whether acknowledgements wait for the journal's sync.
func (c *Config) Durable() bool { return c.Venue.Durability != DurabilityNone }

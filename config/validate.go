package config

import (
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"fxmatch/engine"
)

// Bounds that keep every shard's engine within the engine's own limits
// (engine.Config.Validate) and its memory within reason.
const (
	participantsMax         = 1<<15 - 1 // PartyID is dense and 1-based
	shardsMax               = 1 << 16   // the shard number is the top 16 bits of ids
	liveOrdersMax           = 1<<31 - 1
	ordersPerDayExpectedMax = 1 << 28 // ~100 bytes each, per shard
	qtyMax                  = 1 << 50
)

var (
	// compIDRE is deliberately narrower than FIX allows: CompIDs appear in
	// NATS subjects, file names and log lines, where spaces, dots-only or
	// wildcard characters would need quoting.
	compIDRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// VenueCompID is the venue's own CompID (TargetCompID of every client
// message); no participant may use it.
const VenueCompID = "FXMATCH"

// Validate checks the whole configuration and returns the first problem as
// an *Error naming the key and the value as written. It does not touch the
// network or the disk (see CheckListeners for the listener policy).
func (c *Config) Validate() error {
	for _, check := range []func() error{
		c.validateVenue, c.validateListen, c.validateParticipants,
		c.validateCredit, c.validateInstruments, c.validateHolidays, c.validateShards,
		c.validateRisk,
		c.validateNATS,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) validateVenue() error {
	v := &c.Venue
	if _, _, ok := parseClock(v.RollTime); !ok {
		return c.errf("venue.roll_time", v.RollTime, "%q is not a time of day (want \"HH:MM\", 24-hour, e.g. \"17:00\")", v.RollTime)
	}
	if _, err := loadZone(v.RollZone); err != nil {
		return c.errf("venue.roll_zone", v.RollZone, "%v", err)
	}
	if v.TradeDate != "" {
		d, ok := parseDate(v.TradeDate)
		if !ok {
			return c.errf("venue.trade_date", v.TradeDate, "%q is not a date (want \"YYYY-MM-DD\")", v.TradeDate)
		}
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			return c.errf("venue.trade_date", v.TradeDate, "%q is a %s; trade dates are Monday to Friday", v.TradeDate, wd)
		}
	}
	switch v.Durability {
	case DurabilitySync, DurabilityNone:
	default:
		return c.errf("venue.durability", v.Durability, "unknown mode %q (want %q or %q)", v.Durability, DurabilitySync, DurabilityNone)
	}
	if strings.TrimSpace(v.DataDir) == "" {
		return c.errf("venue.data_dir", v.DataDir, "must name a directory")
	}
	if v.LiveOrdersMax <= 0 || v.LiveOrdersMax > liveOrdersMax {
		return c.errf("venue.live_orders_max", strconv.Itoa(v.LiveOrdersMax), "%d is out of range (want 1 to %d)", v.LiveOrdersMax, liveOrdersMax)
	}
	if v.OrdersPerDayExpected <= 0 || v.OrdersPerDayExpected > ordersPerDayExpectedMax {
		return c.errf("venue.orders_per_day_expected", strconv.Itoa(v.OrdersPerDayExpected), "%d is out of range (want 1 to %d)", v.OrdersPerDayExpected, ordersPerDayExpectedMax)
	}
	return nil
}

func (c *Config) validateListen() error {
	for _, l := range c.listeners() {
		if err := checkHostPort(l.addr); err != "" {
			return c.errf("listen."+l.key, l.addr, "%q %s", l.addr, err)
		}
	}
	return c.validateFIXTLS()
}

// checkHostPort returns why addr is not a host:port to listen on, or "".
func checkHostPort(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "is not a host:port address (e.g. \"127.0.0.1:9878\")"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "has no valid port number (want 0 to 65535; 0 picks a free port)"
	}
	return ""
}

func (c *Config) validateParticipants() error {
	if len(c.Participants) == 0 {
		return c.errf("participant", "", "no participants: at least one [[participant]] is needed")
	}
	if len(c.Participants) > participantsMax {
		return c.errf("participant", strconv.Itoa(len(c.Participants)), "%d participants, at most %d", len(c.Participants), participantsMax)
	}
	seen := make(map[string]int, len(c.Participants))
	for i := range c.Participants {
		p := &c.Participants[i]
		key := fmt.Sprintf("participant[%d]", i)
		switch {
		case !compIDRE.MatchString(p.ID):
			return c.errf(key+".id", p.ID, "%q is not a usable CompID (want 1 to 32 letters, digits, '_' or '-', starting with a letter or digit)", p.ID)
		case p.ID == VenueCompID:
			return c.errf(key+".id", p.ID, "%q is the venue's own CompID", p.ID)
		}
		if j, dup := seen[p.ID]; dup {
			return c.errf(key+".id", p.ID, "%q is already participant[%d]", p.ID, j)
		}
		seen[p.ID] = i
		switch p.Role {
		case RoleBank, RoleBroker, RoleRegulator:
		default:
			return c.errf(key+".role", p.Role, "unknown role %q (want %s, %s or %s)", p.Role, RoleBank, RoleBroker, RoleRegulator)
		}
		if p.PasswordHash != "" {
			// The value is not quoted: an operator who pasted a password
			// here by mistake should not find it in the logs as well.
			if _, err := bcrypt.Cost([]byte(p.PasswordHash)); err != nil {
				return c.errf(key+".password_hash", "", "not a bcrypt hash (%v); make one with `fxmatch config hash-password`", err)
			}
		}
		if err := checkAPITokenHash(p.APITokenHash); err != nil {
			return c.errf(key+".api_token_hash", "", "%v", err)
		}
		if _, err := engine.ParseSMPMode(p.SMP); err != nil {
			return c.errf(key+".smp", p.SMP, "unknown mode %q (want cancel-resting, cancel-incoming, cancel-both or off)", p.SMP)
		}
		if p.ThrottlePerSecond <= 0 {
			return c.errf(key+".throttle_per_second", strconv.Itoa(p.ThrottlePerSecond), "%d is not a rate (want a positive number of messages a second)", p.ThrottlePerSecond)
		}
	}
	// Drop-copy lists name participants, so they are checked once all IDs
	// are known.
	for i := range c.Participants {
		p := &c.Participants[i]
		dc := make(map[string]bool, len(p.DropCopy))
		for j, id := range p.DropCopy {
			key := fmt.Sprintf("participant[%d].drop_copy[%d]", i, j)
			switch _, known := seen[id]; {
			case id == "*" && len(p.DropCopy) != 1:
				return c.errf(key, id, `"*" (everyone) must be the only entry`)
			case id == "*":
			case !known:
				return c.errf(key, id, "unknown participant %q", id)
			case id == p.ID:
				return c.errf(key, id, "%q is the participant itself, which sees its own reports anyway", id)
			case dc[id]:
				return c.errf(key, id, "%q is listed twice", id)
			}
			dc[id] = true
		}
	}
	return nil
}

func (c *Config) validateCredit() error {
	pairs := map[[2]string]int{}
	for i, l := range c.Credit {
		key := fmt.Sprintf("credit[%d]", i)
		if len(l.Between) != 2 {
			return c.errf(key+".between", fmt.Sprint(l.Between), "%q must name exactly two participants", l.Between)
		}
		for j, id := range l.Between {
			p, ok := c.Participant(id)
			if !ok {
				return c.errf(fmt.Sprintf("%s.between[%d]", key, j), id, "unknown participant %q", id)
			}
			if !p.CanTrade() {
				return c.errf(fmt.Sprintf("%s.between[%d]", key, j), id, "%q is a %s and cannot trade, so it has no credit", id, p.Role)
			}
		}
		a, b := l.Between[0], l.Between[1]
		if a == b {
			return c.errf(key+".between", a, "a line needs two different participants, got %q twice", a)
		}
		if a > b {
			a, b = b, a
		}
		if j, dup := pairs[[2]string{a, b}]; dup {
			return c.errf(key+".between", a+"-"+b, "the pair %s–%s already has credit[%d]", a, b, j)
		}
		pairs[[2]string{a, b}] = i
		if l.LimitUSD < 0 {
			return c.errf(key+".limit_usd", strconv.FormatInt(l.LimitUSD, 10), "%d is negative (0 means no credit)", l.LimitUSD)
		}
	}
	return nil
}

func (c *Config) validateInstruments() error {
	if len(c.Instruments) == 0 {
		return c.errf("instrument", "", "no instruments: at least one [[instrument]] is needed")
	}
	seen := map[string]int{}
	for i := range c.Instruments {
		in := &c.Instruments[i]
		key := fmt.Sprintf("instrument[%d]", i)
		base, term, ok := strings.Cut(in.Symbol, "/")
		if !ok || !currencyRE.MatchString(base) || !currencyRE.MatchString(term) || base == term {
			return c.errf(key+".symbol", in.Symbol, "%q is not a currency pair (want BASE/TERM, two different ISO codes, e.g. \"USD/CNY\")", in.Symbol)
		}
		if j, dup := seen[in.Symbol]; dup {
			return c.errf(key+".symbol", in.Symbol, "%q is already instrument[%d]", in.Symbol, j)
		}
		seen[in.Symbol] = i
		tick, msg := in.Tick.Price()
		if msg != "" {
			return c.errf(key+".tick", in.Tick.String(), "%s", msg)
		}
		if in.Lot <= 0 || in.Lot > qtyMax {
			return c.errf(key+".lot", strconv.FormatInt(in.Lot, 10), "%d is not a lot (want 1 to %d base units)", in.Lot, int64(qtyMax))
		}
		if in.QtyMin < in.Lot || in.QtyMin%in.Lot != 0 {
			return c.errf(key+".qty_min", strconv.FormatInt(in.QtyMin, 10), "%d must be a positive multiple of the lot %d", in.QtyMin, in.Lot)
		}
		if in.QtyMax < in.QtyMin || in.QtyMax%in.Lot != 0 || in.QtyMax > qtyMax {
			return c.errf(key+".qty_max", strconv.FormatInt(in.QtyMax, 10), "%d must be a multiple of the lot %d, at least qty_min %d and at most %d", in.QtyMax, in.Lot, in.QtyMin, int64(qtyMax))
		}
		ref, msg := in.RefPrice.Price()
		if msg != "" {
			return c.errf(key+".ref_price", in.RefPrice.String(), "%s", msg)
		}
		if ref%tick != 0 {
			return c.errf(key+".ref_price", in.RefPrice.String(), "%q is not a multiple of the tick %s", in.RefPrice.String(), in.Tick.String())
		}
		bp, msg := in.BandPercent.BasisPoints()
		if msg != "" {
			return c.errf(key+".band_percent", in.BandPercent.String(), "%s", msg)
		}
		if bp >= 10000 {
			return c.errf(key+".band_percent", in.BandPercent.String(), "%q is not below 100 percent", in.BandPercent.String())
		}
		if !in.USDRate.IsZero() {
			if base == "USD" || term == "USD" {
				return c.errf(key+".usd_rate", in.USDRate.String(), "set for %s, but a USD pair converts to USD by its own price: leave it out", in.Symbol)
			}
			if _, msg := in.USDRate.Price(); msg != "" {
				return c.errf(key+".usd_rate", in.USDRate.String(), "%s", msg)
			}
		}
	}
	return nil
}

func (c *Config) validateHolidays() error {
	// Sorted, so that a file with several mistakes always reports the same
	// one first.
	for _, ccy := range slices.Sorted(maps.Keys(c.Holidays)) {
		days := c.Holidays[ccy]
		key := "holidays." + ccy
		if !currencyRE.MatchString(ccy) {
			return c.errf(key, ccy, "%q is not a currency code (want three capital letters, e.g. USD)", ccy)
		}
		for j, s := range days {
			if _, ok := parseDate(s); !ok {
				return c.errf(fmt.Sprintf("%s[%d]", key, j), s, "%q is not a date (want \"YYYY-MM-DD\")", s)
			}
		}
	}
	return nil
}

func (c *Config) validateShards() error {
	if len(c.Shards) == 0 {
		return c.errf("shard", "", "no shards: every instrument must be in a [[shard]]")
	}
	if len(c.Shards) > shardsMax {
		return c.errf("shard", strconv.Itoa(len(c.Shards)), "%d shards, at most %d", len(c.Shards), shardsMax)
	}
	symbols := make(map[string]*Instrument, len(c.Instruments))
	for i := range c.Instruments {
		symbols[c.Instruments[i].Symbol] = &c.Instruments[i]
	}
	owner := map[string]int{}
	for i, sh := range c.Shards {
		key := fmt.Sprintf("shard[%d].instruments", i)
		if len(sh.Instruments) == 0 {
			return c.errf(key, "", "empty shard: list at least one instrument")
		}
		in := map[string]bool{}
		for j, sym := range sh.Instruments {
			if symbols[sym] == nil {
				return c.errf(fmt.Sprintf("%s[%d]", key, j), sym, "unknown instrument %q", sym)
			}
			if s, dup := owner[sym]; dup {
				return c.errf(fmt.Sprintf("%s[%d]", key, j), sym, "%q is already in shard[%d]; an instrument runs in exactly one shard", sym, s)
			}
			owner[sym] = i
			in[sym] = true
		}
		// Credit is counted in USD. The engine converts a cross pair's
		// notional through a BASE/USD or USD/BASE instrument of its own
		// shard (a live rate) and otherwise needs a configured rate.
		for _, sym := range sh.Instruments {
			inst := symbols[sym]
			base, term := inst.Base(), inst.Term()
			if base == "USD" || term == "USD" || !inst.USDRate.IsZero() || in[base+"/USD"] || in["USD/"+base] {
				continue
			}
			return c.errf(fmt.Sprintf("instrument[%d].usd_rate", c.instrumentIndex(sym)), "",
				"%s needs a usd_rate: neither currency is USD and shard[%d] runs no %s/USD or USD/%s to convert its notional for credit", sym, i, base, base)
		}
	}
	for i := range c.Instruments {
		if _, ok := owner[c.Instruments[i].Symbol]; !ok {
			return c.errf(fmt.Sprintf("instrument[%d].symbol", i), c.Instruments[i].Symbol, "%q is in no [[shard]]; every instrument runs in exactly one", c.Instruments[i].Symbol)
		}
	}
	return nil
}

func (c *Config) instrumentIndex(sym string) int {
	for i := range c.Instruments {
		if c.Instruments[i].Symbol == sym {
			return i
		}
	}
	return -1
}

// parseClock parses "HH:MM" (24-hour).
func parseClock(s string) (hour, minute int, ok bool) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, 0, false
	}
	return t.Hour(), t.Minute(), true
}

// parseDate parses "YYYY-MM-DD" into an engine.Date.
func parseDate(s string) (engine.Date, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, false
	}
	d := engine.DateOf(t)
	return d, d.Valid()
}

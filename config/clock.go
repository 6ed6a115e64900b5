package config

import (
	"fmt"
	"sync"
	"time"

	"fxmatch/engine"
)

// The trading-day calendar. The engine has no clock: the shell asks these
// functions which trade date a moment belongs to and when the next roll is,
// and sends the engine a CmdRollDay at that moment. They are pure functions
// of their argument and the configuration, so tests pass in any time they
// like.
//
// The rule, kept deliberately simple: a trading day ends at the roll time
// (17:00 New York by default) and is named after the calendar day on which
// it ends — the FX convention, where Monday 17:00 to Tuesday 17:00 New York
// is Tuesday's trade date. A trade date that would fall on a Saturday or
// Sunday moves to Monday, so everything from Friday 17:00 to Monday 17:00
// is Monday's. Holidays do not move trade dates (they move value dates,
// which is the engine's business); an operator who wants a holiday off
// stops the venue or sets venue.trade_date.

var zones sync.Map // zone name → *time.Location

// loadZone resolves an IANA zone name from the embedded database, once.
// "Local" and "" are refused: they would make the trading day depend on the
// machine the venue happens to run on.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("%q is not a fixed time zone (want an IANA name such as %q)", name, DefaultRollZone)
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as %q)", name, DefaultRollZone)
	}
	zones.Store(name, loc)
	return loc, nil
}

// roll returns the roll zone and time of day. The configuration must have
// passed Validate; calling these methods on an invalid one is a programming
// error and panics.
func (c *Config) roll() (*time.Location, int, int) {
	loc, err := loadZone(c.Venue.RollZone)
	if err != nil {
		panic(fmt.Sprintf("config: roll zone used before Validate: %v", err))
	}
	h, m, ok := parseClock(c.Venue.RollTime)
	if !ok {
		panic(fmt.Sprintf("config: roll time %q used before Validate", c.Venue.RollTime))
	}
	return loc, h, m
}

// TradeDateAt is the trade date that the moment t belongs to: the calendar
// date of t in the roll zone, plus one day from the roll time on, moved
// from Saturday or Sunday to Monday.
func (c *Config) TradeDateAt(t time.Time) engine.Date {
	loc, h, m := c.roll()
	lt := t.In(loc)
	d := engine.DateOf(lt)
	rollAt := time.Date(lt.Year(), lt.Month(), lt.Day(), h, m, 0, 0, loc)
	if !lt.Before(rollAt) {
		d = d.AddDays(1)
	}
	switch d.Weekday() {
	case time.Saturday:
		d = d.AddDays(2)
	case time.Sunday:
		d = d.AddDays(1)
	}
	return d
}

// NextRoll is the first moment after t at which the trade date changes:
// the next roll time on a Monday to Friday in the roll zone (rolls on
// Saturday and Sunday change nothing; see TradeDateAt). On a day whose roll
// time does not exist (a daylight-saving gap) it is the moment time.Date
// normalises it to.
func (c *Config) NextRoll(t time.Time) time.Time {
	loc, h, m := c.roll()
	lt := t.In(loc)
	for i := 0; i < 8; i++ { // a weekday roll is at most 3 days away
		day := lt.AddDate(0, 0, i)
		r := time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, loc)
		if wd := r.Weekday(); wd == time.Saturday || wd == time.Sunday || !r.After(t) {
			continue
		}
		return r
	}
	panic("config: no roll within eight days") // unreachable
}

// StartTradeDate is the trade date the venue starts in at moment now:
// venue.trade_date if it is set, else TradeDateAt(now).
func (c *Config) StartTradeDate(now time.Time) engine.Date {
	if c.Venue.TradeDate != "" {
		if d, ok := parseDate(c.Venue.TradeDate); ok {
			return d
		}
		panic(fmt.Sprintf("config: trade date %q used before Validate", c.Venue.TradeDate))
	}
	return c.TradeDateAt(now)
}

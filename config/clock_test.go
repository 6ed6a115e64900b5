package config

import (
	"testing"
	"time"

	"fxmatch/engine"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// The instants are written in UTC (or with an offset) on purpose, so the
// tests also check the conversion to New York time across daylight saving:
// 17:00 New York is 21:00 UTC in summer (EDT) and 22:00 UTC in winter (EST).
// 2026-03-08 and 2026-11-01 are the US clock changes.
func TestTradeDateAt(t *testing.T) {
	c := Demo()
	for _, tc := range []struct {
		at   string
		want engine.Date
	}{
		{"2026-07-07T20:59:59Z", 20260707},      // Tue 16:59:59 EDT
		{"2026-07-07T21:00:00Z", 20260708},      // Tue 17:00 EDT: rolled
		{"2026-01-06T21:59:59Z", 20260106},      // Tue 16:59:59 EST
		{"2026-01-06T22:00:00Z", 20260107},      // Tue 17:00 EST
		{"2026-01-06T21:30:00Z", 20260106},      // Tue 16:30 EST: 21:30 UTC is before the winter roll
		{"2026-07-10T20:59:00Z", 20260710},      // Fri before the roll
		{"2026-07-10T21:00:00Z", 20260713},      // Fri 17:00: Monday's
		{"2026-07-11T15:00:00Z", 20260713},      // Saturday
		{"2026-07-12T23:00:00Z", 20260713},      // Sunday evening
		{"2026-07-13T03:59:00Z", 20260713},      // Sun 23:59 EDT
		{"2026-07-13T12:00:00Z", 20260713},      // Monday morning
		{"2026-03-06T22:00:00Z", 20260309},      // Fri 17:00 EST, DST starts on Sunday
		{"2026-03-09T20:59:00Z", 20260309},      // Mon 16:59 EDT
		{"2026-03-09T21:00:00Z", 20260310},      // Mon 17:00 EDT
		{"2026-12-31T22:00:00Z", 20270101},      // New Year's Eve 17:00: a Friday, not moved (holidays do not move trade dates)
		{"2026-11-26T05:00:00+08:00", 20261125}, // Shanghai early morning: 16:00 the day before in New York
		{"2026-11-26T12:00:00+08:00", 20261126}, // Shanghai noon: 23:00 in New York, past the roll
	} {
		if got := c.TradeDateAt(mustTime(t, tc.at)); got != tc.want {
			t.Errorf("TradeDateAt(%s) = %d, want %d", tc.at, got, tc.want)
		}
	}
}

func TestNextRoll(t *testing.T) {
	c := Demo()
	for _, tc := range []struct{ at, want string }{
		{"2026-07-07T12:00:00Z", "2026-07-07T21:00:00Z"}, // Tue morning → Tue 17:00 EDT
		{"2026-07-07T21:00:00Z", "2026-07-08T21:00:00Z"}, // at the roll → the next one
		{"2026-07-10T21:00:00Z", "2026-07-13T21:00:00Z"}, // Fri roll → Mon
		{"2026-07-11T09:00:00Z", "2026-07-13T21:00:00Z"}, // Saturday → Mon
		{"2026-03-06T23:00:00Z", "2026-03-09T21:00:00Z"}, // over the DST change: 17:00 EDT
		{"2026-10-30T22:00:00Z", "2026-11-02T22:00:00Z"}, // Fri 18:00 EDT → Mon 17:00 EST
	} {
		want := mustTime(t, tc.want)
		got := c.NextRoll(mustTime(t, tc.at))
		if !got.Equal(want) {
			t.Errorf("NextRoll(%s) = %s, want %s", tc.at, got.UTC().Format(time.RFC3339), tc.want)
		}
		// The trade date must change exactly at NextRoll, and not before.
		before, after := c.TradeDateAt(got.Add(-time.Nanosecond)), c.TradeDateAt(got)
		if before == after {
			t.Errorf("NextRoll(%s) = %s, but the trade date stays %d", tc.at, tc.want, after)
		}
		if now := c.TradeDateAt(mustTime(t, tc.at)); now != before {
			t.Errorf("trade date changes between %s (%d) and NextRoll %s (%d)", tc.at, now, tc.want, before)
		}
	}
}

func TestRollTimeConfigurable(t *testing.T) {
	c := Demo()
	c.Venue.RollTime, c.Venue.RollZone = "15:30", "Asia/Tokyo"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// Wed 15:29 and 15:30 JST.
	if got := c.TradeDateAt(mustTime(t, "2026-07-08T15:29:00+09:00")); got != 20260708 {
		t.Errorf("before the Tokyo roll: %d", got)
	}
	if got := c.TradeDateAt(mustTime(t, "2026-07-08T15:30:00+09:00")); got != 20260709 {
		t.Errorf("at the Tokyo roll: %d", got)
	}
	if got, want := c.NextRoll(mustTime(t, "2026-07-08T00:00:00Z")), mustTime(t, "2026-07-08T15:30:00+09:00"); !got.Equal(want) {
		t.Errorf("NextRoll = %s, want %s", got, want)
	}
	if got := c.StartTradeDate(mustTime(t, "2026-07-08T15:30:00+09:00")); got != 20260709 {
		t.Errorf("StartTradeDate without venue.trade_date = %d, want the clock's 20260709", got)
	}
}

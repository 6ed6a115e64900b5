package fraud

import (
	"net/netip"
	"testing"
	"time"
)

// TestDemoLoopbackParticipantsNeverBlocked is the demo venue: two
// participants, each a fresh account, trading from 127.0.0.1 (everything
// on one host), 30 orders each interleaved, one every two seconds. On
// loopback nobody shares a device, and a burst against an account's first
// minute of history is no baseline: nothing may be blocked, and no order
// may name a shared source.
func TestDemoLoopbackParticipantsNeverBlocked(t *testing.T) {
	for _, src := range []string{"127.0.0.1", "::1", "127.0.0.1:53412"} {
		c := newScenario(t, Config{})
		c.at(time.Date(2025, 3, 17, 9, 0, 0, 0, time.UTC))
		for i := 0; i < 3; i++ {
			c.after(time.Second)
			if _, r := c.order("BANKA", "BANKA", src, "USD/CNY", SideBuy, 1e6, false); r.Action == Block {
				t.Fatalf("%s: BANKA order %d blocked: %.4f %s", src, i, r.Score, reasons(r))
			}
		}
		for i := 0; i < 30; i++ {
			c.after(time.Second)
			_, ra := c.order("BANKA", "BANKA", src, "USD/CNY", SideBuy, 1e6, false)
			c.after(time.Second)
			_, rb := c.order("BANKB", "BANKB", src, "USD/CNY", SideSell, 1e6, false)
			for who, r := range map[string]Result{"BANKA": ra, "BANKB": rb} {
				if r.Action == Block || r.Features[FeatSrcShared] != 0 || r.Features[FeatWashCross] != 0 {
					t.Fatalf("%s: %s order %d: %s %.4f (%s), want no block and no shared source",
						src, who, i, r.Action, r.Score, reasons(r))
				}
			}
		}
	}
}

// TestConfiguredSharedSourceIsNotADevice: an address in SharedSources (a
// corporate proxy) is not a device two participants share, while an
// address outside it still is.
func TestConfiguredSharedSourceIsNotADevice(t *testing.T) {
	cfg := Config{SharedSources: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tc := range []struct {
		src    string
		shared bool
	}{{"10.1.2.3", false}, {"192.0.2.7", true}, {"dev-77", true}} {
		c := newScenario(t, cfg)
		c.at(time.Date(2025, 3, 17, 9, 0, 0, 0, time.UTC))
		c.order("ACC1", "BANK1", tc.src, "EUR/USD", SideBuy, 5e6, false)
		c.after(10 * time.Second)
		_, r := c.order("ACC2", "BANK2", tc.src, "EUR/USD", SideSell, 5e6, false)
		if got := r.Features[FeatSrcShared] != 0; got != tc.shared {
			t.Errorf("source %s: shared %v (%s), want %v", tc.src, got, reasons(r), tc.shared)
		}
	}
}

// TestLoopbackStillSeesANewSource: the participant's own loopback origin
// is established like any source, so a takeover from elsewhere is still
// new to the account.
func TestLoopbackStillSeesANewSource(t *testing.T) {
	c := newScenario(t, Config{})
	start := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	for d := 0; d < 10; d++ {
		c.at(start.AddDate(0, 0, d).Add(8 * time.Hour))
		c.login("BANKA", "BANKA", "127.0.0.1")
		for k := 0; k < 5; k++ {
			c.after(time.Hour)
			c.order("BANKA", "BANKA", "127.0.0.1", "USD/CNY", SideBuy, 5e6, false)
		}
	}
	c.after(time.Hour)
	_, r := c.order("BANKA", "BANKA", "203.0.113.9", "USD/CNY", SideBuy, 5e6, false)
	if r.Features[FeatNewSource] != 1 {
		t.Errorf("order from a new address after ten days on loopback: %s", reasons(r))
	}
}

// TestThinHistoryReviewsNotBlocks: a fresh account's size and pace alone
// raise an alert and do not block; with history the same burst blocks as
// before, and a fresh account's order from a device another participant
// uses still blocks.
func TestThinHistoryReviewsNotBlocks(t *testing.T) {
	c := newScenario(t, Config{})
	c.at(time.Date(2025, 3, 17, 9, 0, 0, 0, time.UTC))
	var last Result
	for i := 0; i < 40; i++ {
		c.after(500 * time.Millisecond)
		_, last = c.order("NEW1", "BANKN", "dev-n1", "EUR/USD", SideBuy, 5e6, i%2 == 0)
		if last.Action == Block {
			t.Fatalf("fresh account, order %d: blocked %.4f (%s)", i, last.Score, reasons(last))
		}
	}
	if last.Action != Review || !hasReason(last, FeatBurst) {
		t.Errorf("40 orders in 20 s from a fresh account: %s %.4f (%s), want review for the burst", last.Action, last.Score, reasons(last))
	}
	c.order("NEW2", "BANKM", "dev-shared", "EUR/USD", SideBuy, 5e6, false)
	c.after(time.Second)
	if _, r := c.order("NEW3", "BANKN", "dev-shared", "EUR/USD", SideSell, 5e6, false); r.Action != Block {
		t.Errorf("fresh account crossing an account of another participant on its device: %s %.4f (%s), want block", r.Action, r.Score, reasons(r))
	}
}

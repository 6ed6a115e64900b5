package gateway

import (
	"errors"
	"testing"

	"fxmatch/engine/hub"
)

// TestInstallFeedAfterStop: a feed loop that resubscribes (the hub cut it
// off) while the gateway stops must not keep its new subscription: once
// stopFeeds has run, installFeed ends it and tells the loop to return.
func TestInstallFeedAfterStop(t *testing.T) {
	e := newEnv(t)
	s := e.gw
	p, ok := e.cfg.PartyID("BANKA")
	if !ok {
		t.Fatal("no BANKA")
	}
	before, err := e.v.Hub().SubscribeParty(p, 16)
	if err != nil {
		t.Fatal(err)
	}
	var slot *hub.Sub
	if !s.installFeed(&slot, before) || slot != before {
		t.Fatal("a feed was not installed while the gateway runs")
	}
	s.stopFeeds()
	after, err := e.v.Hub().SubscribeParty(p, 16)
	if err != nil {
		t.Fatal(err)
	}
	if s.installFeed(&slot, after) || slot != before {
		t.Fatal("a feed was installed after stopFeeds")
	}
	if _, open := <-after.C; open || !errors.Is(after.Err(), hub.ErrClosed) {
		t.Fatalf("the refused subscription is still open (err %v)", after.Err())
	}
}

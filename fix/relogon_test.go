package fix_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
)

// screenFunc is a venue.Screener from a function.
type screenFunc func(context.Context, *engine.Command, venue.Origin) error

func (f screenFunc) Screen(ctx context.Context, cmd *engine.Command, o venue.Origin) error {
	return f(ctx, cmd, o)
}

// A participant whose connection is cut off (here as a slow consumer is:
// from another goroutine) while that connection's goroutine is still
// handling a message logs on again at once. The new connection's
// goroutine must not start on the session until the old one has finished
// with it: both would touch the party's per-connection state (its reply
// buffer, its throttle, its market-data subscriptions), and the old one's
// end of session — logged out, cancel on disconnect — would land on the
// new session: BANKC (cancel on disconnect) lost the order it entered on
// the new connection, and its session counted as logged out while it was
// logged on. The old goroutine is held mid-message by a pre-trade
// screener that blocks. (-race does not see the two goroutines share the
// reply buffer here: every socket write and read is a synchronisation
// point for the race detector (syscall's ioSync), and the test's own
// reads and writes order the two goroutines' accesses for it. So the
// test checks the order of events instead.)
func TestRelogonWaitsForOldConnection(t *testing.T) {
	e := newEnv(t)
	held := make(chan struct{}, 1)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the venue stops (cleanups run last first)
	e.v.SetScreener(screenFunc(func(_ context.Context, cmd *engine.Command, _ venue.Origin) error {
		if cmd.ClOrdID == engine.MustID("held") {
			held <- struct{}{}
			<-release
			return &venue.RiskBlock{Reasons: []string{"held by the test"}}
		}
		return nil
	}))
	addr := e.a.Addr().String()

	old := dialRaw(t, addr)
	old.logon("BANKC", config.DemoPassword)                            // 34=1
	old.send(nos("held", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0000")) // 34=2
	select {
	case <-held:
	case <-time.After(5 * time.Second):
		t.Fatal("the order never reached the screener")
	}
	e.a.Disconnect("BANKC", "the test cuts the old connection off")

	nw := dialRaw(t, addr)
	nw.sender, nw.seq = "BANKC", 3
	nw.send("35=A|98=0|108=30|554=" + config.DemoPassword)
	answered := false
	if m, err := nw.read(300 * time.Millisecond); err == nil {
		answered = true
		t.Errorf("the new logon was answered (%s) while the old connection's goroutine was still handling a message", m)
	} else if !isTimeout(err) {
		t.Fatalf("new connection: %v", err)
	}
	unblock()
	if !answered {
		nw.expect("35=A", 5*time.Second)
	}
	nw.send(nos("kept", "55=USD/CNY|54=2|38=1000000|40=2|44=7.2000"))
	nw.expect("35=8|11=kept|150=0", 5*time.Second)

	// By now the old session has ended (with the fix, before the new
	// logon was answered): its cancel on disconnect is in the shards'
	// input ahead of the cancel below.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(e.logs.String(), "cancel on disconnect submitted"); {
		if time.Now().After(deadline) {
			t.Fatal("the old connection's session never ended")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !e.a.PartyLoggedOn("BANKC") {
		t.Error("BANKC counts as logged out while its new connection is logged on")
	}
	nw.send("35=F|11=x1|41=kept|55=USD/CNY|54=2|60=" + now())
	for deadline := time.Now().Add(5 * time.Second); ; {
		m, err := nw.read(time.Until(deadline))
		if err != nil {
			t.Fatalf("no answer to the cancel: %v", err)
		}
		if m.is("11=kept") || m.is("11=x1") {
			if !m.is("35=8|11=x1|41=kept|150=4") {
				t.Errorf("the order entered on the new connection: %s, want it resting until the cancel request", m)
			}
			break
		}
	}
}

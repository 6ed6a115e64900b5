package fix_test

import (
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"fxmatch/config"
	"fxmatch/fix"
)

// TestWrongPasswordHoldsNothing: a Logon's password is checked before its
// connection takes the participant's session. A wrong one does not hold
// the participant while it is checked (bcrypt: the participant's own
// logon at that moment goes ahead); while the participant is logged on
// it is refused outside that session, which goes on undisturbed; while it
// is not, inside the session (its Logout takes the venue's next number,
// as the dealer's engine will count it), without moving the number the
// venue expects from the dealer.
func TestWrongPasswordHoldsNothing(t *testing.T) {
	// A slow hash (cost 11, some 100 ms here), so that a check in
	// progress is a window the second logon lands in.
	hash, err := bcrypt.GenerateFromPassword([]byte("demo"), 11)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *config.Config, _ *fix.Options) {
		for i := range c.Participants {
			if c.Participants[i].ID == "BANKC" {
				c.Participants[i].PasswordHash = string(hash)
			}
		}
	})
	addr := e.a.Addr().String()
	refused := func(r *rawClient, text string) *msg {
		t.Helper()
		lo := r.expect("35=5", 20*time.Second)
		if lo.get("58") != text {
			t.Errorf("refusal %v: want Text %q", lo, text)
		}
		if !r.closed(5 * time.Second) {
			t.Error("refused connection not closed")
		}
		return lo
	}

	// A wrong password, and while it is being checked, the genuine logon.
	w := dialRaw(t, addr)
	w.sender = "BANKC"
	w.send("35=A|98=0|108=30|554=guess")
	time.Sleep(20 * time.Millisecond) // read, and being checked
	g := dialRaw(t, addr)
	g.sender = "BANKC"
	g.send("35=A|98=0|108=30|141=Y|554=demo")
	if m := g.expect("35=A", 20*time.Second); m.get("34") != "1" {
		t.Fatalf("Logon reply %v: want MsgSeqNum 1 (141=Y)", m)
	}
	refused(w, "wrong Password(554) for BANKC")

	// Logged on: a wrong password is refused outside the session.
	r := dialRaw(t, addr)
	r.sender = "BANKC"
	r.send("35=A|98=0|108=30|554=guess")
	if lo := refused(r, "wrong Password(554) for BANKC"); lo.get("34") != "1" {
		t.Errorf("refusal %v while BANKC is logged on: want MsgSeqNum 1, outside the session", lo)
	}
	g.send(nos("g1", "55=USD/CNY|54=1|38=100000|40=2|59=3|44=7.0000"))
	if m := g.expect("35=8|11=g1|150=0", 5*time.Second); m.get("34") != "2" {
		t.Errorf("report %v: want MsgSeqNum 2, the session undisturbed", m)
	}
	g.expect("35=8|11=g1|150=4", 5*time.Second) // IOC: nothing rests to cancel on disconnect
	g.send("35=5")
	if lo := g.expect("35=5", 5*time.Second); lo.get("34") != "4" {
		t.Fatalf("Logout reply %v: want MsgSeqNum 4", lo)
	}
	g.closed(5 * time.Second)

	// Logged out: refused inside the session, each Logout numbered.
	for i, logon := range []string{"35=A|98=0|108=30|554=guess", "35=A|98=0|108=30"} {
		r := dialRaw(t, addr)
		r.sender = "BANKC"
		r.send(logon)
		text := []string{"wrong Password(554) for BANKC", "Password(554) missing"}[i]
		if lo := refused(r, text); lo.get("34") != []string{"5", "6"}[i] {
			t.Errorf("refusal %v: want MsgSeqNum %d, the venue's next", lo, 5+i)
		}
	}
	// The dealer's engine, back with the right password and its numbers
	// (it sent 3 messages; it counted the venue's 6), finds the venue in
	// step: the Logon reply is 7 and no resend is asked of it.
	h := dialRaw(t, addr)
	h.sender, h.seq = "BANKC", 4
	h.send("35=A|98=0|108=30|554=demo")
	if m := h.expect("35=A", 20*time.Second); m.get("34") != "7" {
		t.Errorf("Logon reply %v: want MsgSeqNum 7", m)
	}
	h.send("35=1|112=ping")
	if m := h.expect("35=0", 5*time.Second); m.get("112") != "ping" || m.get("34") != "8" {
		t.Errorf("Heartbeat %v: want the answer to the TestRequest, MsgSeqNum 8 (no ResendRequest before it)", m)
	}
}

// TestRefusedLogonKeepsQuickFIXInStep: a dealer's QuickFIX C++ engine,
// keeping its sequence numbers (its store) across logons refused for
// their credentials, logs on again with the right password and trades.
// QuickFIX counts every Logout it receives as the session's next message,
// whatever its MsgSeqNum: a refusal's Logout outside the session
// (MsgSeqNum 1) left it a number ahead of the venue, and it refused every
// later Logon reply as "MsgSeqNum too low" until someone reset the
// session.
func TestRefusedLogonKeepsQuickFIXInStep(t *testing.T) {
	e := newEnv(t)
	store := t.TempDir()
	c := e.client("BANKC", withStore(store))
	// IOC: nothing rests, so nothing is sent while the dealer is away.
	c.send(nos("k1", "55=USD/CNY|54=1|38=100000|40=2|59=3|44=7.0000"))
	c.expect("35=8|11=k1|150=0")
	c.expect("35=8|11=k1|150=4")
	c.quit()
	for _, pw := range []string{"nope", ""} {
		r := e.client("BANKC", withStore(store), withPassword(pw), noWait())
		r.expect("35=5")
		r.quit()
	}
	c = e.client("BANKC", withStore(store))
	c.send(nos("k2", "55=USD/CNY|54=1|38=100000|40=2|44=7.0000"))
	c.expect("35=8|11=k2|150=0")
	c.quit()
}

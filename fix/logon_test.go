package fix_test

import (
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"fxmatch/config"
	"fxmatch/fix"
)

// TestRefusedLogonTouchesNoSession: a Logon that fails its credentials
// is refused before it touches the participant's session. It does not
// hold the participant while its password is checked (bcrypt: the
// participant's own logon at that moment goes ahead), its answer does not
// say whether the participant is connected, and its Logout, outside the
// session, uses none of the venue's outbound sequence numbers.
func TestRefusedLogonTouchesNoSession(t *testing.T) {
	// A slow hash (cost 12, a few hundred ms), so that a check in
	// progress is a window a second logon lands in for sure.
	hash, err := bcrypt.GenerateFromPassword([]byte("demo"), 12)
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

	// A wrong password, and while it is being checked, the genuine logon.
	w := dialRaw(t, addr)
	w.sender = "BANKC"
	w.send("35=A|98=0|108=30|554=guess")
	time.Sleep(20 * time.Millisecond) // read and being checked
	g := dialRaw(t, addr)
	if m := g.logon("BANKC", "demo"); m.get("34") != "1" {
		t.Fatalf("Logon reply %v: want MsgSeqNum 1 (141=Y)", m)
	}
	// Answered as a wrong password though BANKC is now connected, outside
	// the session.
	lo := w.expect("35=5", 10*time.Second)
	if lo.get("58") != "wrong Password(554) for BANKC" || lo.get("34") != "1" {
		t.Errorf("refusal %v: want the wrong password named, MsgSeqNum 1", lo)
	}
	if !w.closed(5 * time.Second) {
		t.Error("refused connection not closed")
	}

	// The session goes on; the venue's next outbound number is 2.
	g.send("35=5")
	if lo := g.expect("35=5", 5*time.Second); lo.get("34") != "2" {
		t.Fatalf("Logout reply %v: want MsgSeqNum 2", lo)
	}
	g.closed(5 * time.Second)
	// More refusals, with BANKC logged out: a wrong password, and a
	// missing one.
	for _, logon := range []string{"35=A|98=0|108=30|554=guess", "35=A|98=0|108=30"} {
		r := dialRaw(t, addr)
		r.sender = "BANKC"
		r.send(logon)
		if lo := r.expect("35=5", 10*time.Second); lo.get("34") != "1" {
			t.Errorf("refusal %v: want MsgSeqNum 1, outside the session", lo)
		}
	}
	// Logging on again without a reset, the dealer's engine finds the
	// venue's numbers where it left them: the Logon reply is 3.
	h := dialRaw(t, addr)
	h.sender, h.seq = "BANKC", 3
	h.send("35=A|98=0|108=30|554=demo")
	if m := h.expect("35=A", 10*time.Second); m.get("34") != "3" {
		t.Errorf("Logon reply %v: want MsgSeqNum 3 (the refusals used no number)", m)
	}
}

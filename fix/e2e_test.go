package fix_test

import (
	"strings"
	"testing"
	"time"
)

// Section 1 of the RoE: logon, password, unknown CompID, HeartBtInt, one
// session per participant, nothing before logon.
func TestLogon(t *testing.T) {
	e := newEnv(t)
	a := e.client("BANKA")

	t.Run("wrong password", func(t *testing.T) {
		c := e.client("BANKB", withPassword("nope"), noWait())
		lo := c.expect("35=5")
		if !strings.Contains(lo.get("58"), "wrong Password(554) for BANKB") {
			t.Fatalf("Logout text %q", lo.get("58"))
		}
		c.quit()
	})
	t.Run("missing password", func(t *testing.T) {
		c := e.client("BANKB", withPassword(""), noWait())
		if lo := c.expect("35=5"); lo.get("58") != "Password(554) missing" {
			t.Fatalf("Logout text %q", lo.get("58"))
		}
		c.quit()
	})
	t.Run("unknown CompID", func(t *testing.T) {
		c := e.client("NOBODY", noWait())
		lo := c.expect("35=5")
		if !strings.Contains(lo.get("58"), `unknown SenderCompID(49) "NOBODY"`) {
			t.Fatalf("Logout text %q", lo.get("58"))
		}
		c.quit()
	})
	t.Run("HeartBtInt out of range", func(t *testing.T) {
		c := e.client("BANKB", withSettings("HeartBtInt=301"), noWait())
		if lo := c.expect("35=5"); lo.get("58") != "HeartBtInt(108) must be between 1 and 300 seconds" {
			t.Fatalf("Logout text %q", lo.get("58"))
		}
		c.quit()
	})
	t.Run("refused logons leave the session's numbers alone", func(t *testing.T) {
		// BANKB's refused logons above must not have moved the sequence
		// number the venue expects from BANKB: a fresh engine (MsgSeqNum 1,
		// no reset) logs on.
		c := e.client("BANKB")
		c.send(nos("b1", "55=USD/CNY|54=1|38=100000|40=2|44=7.0000"))
		c.expect("35=8|11=b1|150=0")
		c.quit()
	})
	t.Run("second connection refused", func(t *testing.T) {
		r := dialRaw(t, e.a.Addr().String())
		r.sender = "BANKA"
		r.send("35=A|98=0|108=30|554=demo")
		lo := r.expect("35=5", 5*time.Second)
		if !strings.Contains(lo.get("58"), "already logged on") {
			t.Fatalf("Logout text %q", lo.get("58"))
		}
		if !r.closed(5 * time.Second) {
			t.Fatal("connection not closed")
		}
	})
	t.Run("wrong TargetCompID", func(t *testing.T) {
		r := dialRaw(t, e.a.Addr().String())
		r.sender = "BANKC"
		b := strings.Replace(string(r.build("35=A|98=0|108=30|554=demo")), "56=FXMATCH", "56=EBS", 1)
		r.conn.Write(frame([]byte(b[strings.Index(b, "35="):strings.LastIndex(b, "10=")])))
		if lo := r.expect("35=5", 5*time.Second); lo.get("58") != "TargetCompID(56) must be FXMATCH" {
			t.Fatalf("Logout text %q", lo.get("58"))
		}
	})
	t.Run("business message before logon", func(t *testing.T) {
		r := dialRaw(t, e.a.Addr().String())
		r.sender = "BANKC"
		r.send(strings.ReplaceAll(nos("x1", "55=USD/CNY|54=1|38=100000|40=2|44=7.0000"), "|", "|"))
		if !r.closed(5 * time.Second) {
			t.Fatal("connection not closed")
		}
	})
	// The first session saw none of it.
	a.send(nos("a1", "55=USD/CNY|54=1|38=100000|40=2|44=7.0000"))
	a.expect("35=8|11=a1|150=0")
}

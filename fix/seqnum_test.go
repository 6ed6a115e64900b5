package fix_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"

	"fxmatch/config"
	"fxmatch/fix"
)

// The MsgSeqNum the venue expects from a dealer: stored no later than the
// venue's answer to the message leaves, checked whatever the message's
// size, and moved only for messages the venue acted on.

// storedNextTarget is the next target MsgSeqNum of comp's session as a
// restart after a SIGKILL would find it: read from a copy of the session
// files while the venue runs (the page cache survives the process; the
// copy leaves the running venue's files alone).
func storedNextTarget(t *testing.T, e *env, comp string) int {
	t.Helper()
	src := filepath.Join(e.dir, "fix-sessions")
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range ents {
		b, err := os.ReadFile(filepath.Join(src, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, de.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st, err := fix.OpenStore(dst, fix.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ss, err := st.Session(quickfix.SessionID{BeginString: fix.BeginString, SenderCompID: fix.VenueCompID, TargetCompID: comp})
	if err != nil {
		t.Fatal(err)
	}
	return ss.NextTargetMsgSeqNum()
}

// Every answer the full path gives (the fast path's own test is
// TestStoreSurvivesSIGKILL's) leaves after the message it answers is
// counted in the store: a crash right after the answer must not have the
// restarted venue ask for the message again and handle it anew (an order
// the dealer was told was refused would then rest).
func TestAnswerLeavesAfterTargetSeqNumStored(t *testing.T) {
	e := newEnv(t)
	c := dialRaw(t, e.a.Addr().String())
	c.logon("BANKA", config.DemoPassword) // 34=1
	if n := storedNextTarget(t, e, "BANKA"); n != 2 {
		t.Errorf("Logon reply received, stored next target MsgSeqNum = %d, want 2", n)
	}
	steps := []struct{ what, send, answer string }{
		// 18 is no fast-path tag: the full path refuses the symbol.
		{"ExecutionReport refusing an order", nos("s1", "55=XXX/YYY|54=1|38=1000000|40=2|44=7.1|18=6"), "35=8|11=s1|150=8"},
		// 58 is no fast-path tag either; the engine answers, after the
		// submit.
		{"OrderCancelReject", "35=F|11=s2|41=nosuch|55=USD/CNY|54=1|58=x|60=" + now(), "35=9|11=s2"},
		{"Heartbeat answering a TestRequest", "35=1|112=tr1", "35=0|112=tr1"},
		{"Reject of a TestRequest without TestReqID", "35=1", "35=3|372=1|373=1"},
		{"BusinessMessageReject of an unsupported type", "35=H|11=s3|55=USD/CNY|54=1", "35=j|372=H|380=3"},
		{"SecurityList", "35=x|320=sl1|559=4", "35=y|320=sl1"},
		{"MarketDataSnapshot", "35=V|262=md1|263=0|264=1|267=1|269=0|146=1|55=USD/CNY", "35=W|262=md1"},
	}
	for _, s := range steps {
		seq := c.seq
		c.send(s.send)
		c.expect(s.answer, 5*time.Second)
		if n := storedNextTarget(t, e, "BANKA"); n != seq+1 {
			t.Errorf("%s for 34=%d received, stored next target MsgSeqNum = %d, want %d", s.what, seq, n, seq+1)
		}
	}
}

// A throttled order's reject (the fast path hands it to the full path)
// leaves after the order is counted in the store.
func TestThrottleRejectLeavesAfterTargetSeqNumStored(t *testing.T) {
	e := newEnv(t, func(c *config.Config, _ *fix.Options) { c.Participants[0].ThrottlePerSecond = 1 })
	c := dialRaw(t, e.a.Addr().String())
	c.logon("BANKA", config.DemoPassword)                          // 34=1
	c.send(nos("t1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1000")) // 34=2, the second's token
	c.send(nos("t2", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1000")) // 34=3, throttled
	c.expect("35=8|11=t2|150=8|103=3", 5*time.Second)
	if n := storedNextTarget(t, e, "BANKA"); n != 4 {
		t.Errorf("throttle reject of 34=3 received, stored next target MsgSeqNum = %d, want 4", n)
	}
}

// longMDR is a MarketDataRequest of 43 fields with the header: more than
// the fast path's raw reading takes (rawFieldsMax), so it goes the full
// path from the first look.
var longMDR = "35=V|262=big|263=0|264=1|267=1|269=0|146=30" + strings.Repeat("|55=USD/CNY", 30)

// A message too low without PossDupFlag ends the session with the same
// Logout whatever its size: a long one was handled as if it were the
// expected one.
func TestTooLowSeqNumLogsOutWhateverTheSize(t *testing.T) {
	for _, tc := range []struct{ what, body string }{
		{"short", "35=V|262=small|263=0|264=1|267=1|269=0|146=1|55=USD/CNY"},
		{"long", longMDR},
	} {
		t.Run(tc.what, func(t *testing.T) {
			e := newEnv(t)
			c := dialRaw(t, e.a.Addr().String())
			c.logon("BANKA", config.DemoPassword) // 34=1
			c.send("35=x|320=s1|559=4")           // 34=2
			c.expect("35=y", 5*time.Second)
			c.seq = 1
			c.send(tc.body)
			m, err := c.read(5 * time.Second)
			if err != nil {
				t.Fatalf("no answer to a 34=1 when 3 is expected: %v", err)
			}
			if want := "MsgSeqNum too low, expecting 3 but received 1"; !m.is("35=5") || m.get("58") != want {
				t.Errorf("answer to a 34=1 when 3 is expected: %s, want a Logout %q", m, want)
			}
			if !c.closed(5 * time.Second) {
				t.Error("connection still open after the Logout")
			}
		})
	}
}

// A long message too low with PossDupFlag is a duplicate the venue has
// had: ignored, as a short one is, and the session goes on.
func TestTooLowLongPossDupIgnored(t *testing.T) {
	e := newEnv(t)
	c := dialRaw(t, e.a.Addr().String())
	c.logon("BANKA", config.DemoPassword) // 34=1
	c.send("35=x|320=s1|559=4")           // 34=2
	c.expect("35=y|320=s1", 5*time.Second)
	c.seq = 1
	c.send("35=V|43=Y|122=" + now() + strings.TrimPrefix(longMDR, "35=V"))
	c.seq = 3
	c.send("35=x|320=s2|559=4")
	if m := c.expect("35=y", 5*time.Second); m.get("320") != "s2" {
		t.Errorf("first answer after a duplicate 34=1: %s, want the SecurityList of 34=3", m)
	}
}

// A long message past a gap is kept and the gap asked for, as a short one
// is; it is handled once the gap is filled, and counted.
func TestGapBeforeLongMessageResendRequested(t *testing.T) {
	e := newEnv(t)
	c := dialRaw(t, e.a.Addr().String())
	c.logon("BANKA", config.DemoPassword) // 34=1
	c.seq = 3                             // 34=2 lost
	c.send(longMDR)
	m, err := c.read(5 * time.Second)
	if err != nil {
		t.Fatalf("no answer to a 34=3 when 2 is expected: %v", err)
	}
	if !m.is("35=2|7=2|16=0") {
		t.Fatalf("answer to a 34=3 when 2 is expected: %s, want ResendRequest 7=2 16=0", m)
	}
	c.seq = 2
	c.send("35=4|123=Y|36=3") // gap fill of 34=2
	c.expect("35=W|262=big", 5*time.Second)
	c.seq = 4
	c.send("35=1|112=after")
	c.expect("35=0|112=after", 5*time.Second)
	if n := storedNextTarget(t, e, "BANKA"); n != 5 {
		t.Errorf("stored next target MsgSeqNum = %d, want 5", n)
	}
}

// Messages read but not yet handled when the venue closes the connection
// (here: cut off as a slow consumer by the answer to the message before
// them) are dropped, not handled: no answer to them could reach the
// dealer, which resends them after its next logon, and they are handled
// then. Handled after the close they were not counted (the store's gate
// closes with the connection), so the resent order was refused as a
// duplicate ClOrdID (103=6) although the dealer never had an answer.
// Two things each keep it so: the reader hands out no frame once the
// connection is closed (guardConn.next), and a message the store no
// longer counts is not acted on (incrTargetQueued's result), for a close
// that comes while it is being handled.
func TestMessagesReadBeforeCloseNotHandled(t *testing.T) {
	// Room for every answer in this test (a Logon reply ~95 bytes, an
	// ExecutionReport 206, or 265 refusing a duplicate ClOrdID) but the
	// SecurityList of the demo's four instruments (313).
	const outMax = 290
	e := newEnv(t, func(_ *config.Config, o *fix.Options) { o.OutboundBytesMax = outMax })
	c := dialRaw(t, e.a.Addr().String())
	c.logon("BANKA", config.DemoPassword) // 34=1
	order := nos("gone1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1000")
	// One write, one socket read for the venue: the SecurityList
	// answering 34=2 overflows the outbound buffer, and the connection is
	// closed with the order (34=3) read and not yet handled.
	b := append(c.build("35=x|320=big|559=4"), c.build(order)...)
	if _, err := c.conn.Write(b); err != nil {
		t.Fatal(err)
	}
	if !c.closed(5 * time.Second) {
		t.Fatal("not disconnected as a slow consumer: raise the SecurityList above the outbound limit")
	}
	if !strings.Contains(e.logs.String(), "slow consumer") {
		t.Fatalf("disconnected, but not as a slow consumer")
	}

	// The dealer logs on again, without a reset, with its next number
	// (again until the venue has let go of the old connection: until
	// then a logon is refused, with a Logout, and moves no number).
	var d *rawClient
	for deadline := time.Now().Add(5 * time.Second); ; {
		d = dialRaw(t, e.a.Addr().String())
		d.sender, d.seq = "BANKA", 4
		d.send("35=A|98=0|108=30|554=" + config.DemoPassword)
		m, err := d.read(5 * time.Second)
		if err == nil && m.is("35=A") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logon after the disconnect: %v %v", m, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	rr := d.expect("35=2", 5*time.Second)
	if rr.get("7") != "3" {
		t.Fatalf("ResendRequest after the reconnect: %s, want 7=3 (34=2 was handled, 34=3 not)", rr)
	}
	d.seq = 3
	d.send("35=D|43=Y|122=" + now() + strings.TrimPrefix(order, "35=D"))
	er := d.expect("35=8|11=gone1", 5*time.Second)
	if !er.is("150=0") {
		t.Errorf("resent order 34=3: %s, want 150=0 (it was never answered)", er)
	}
}

// A ResendRequest after the session store has moved on to new segment
// files and retired old ones (30 messages kept, 2 KiB segments) is
// answered exactly: a gap fill for what is forgotten, then every kept
// ExecutionReport as it was sent (PossDupFlag), each number once, in
// order, up to the last one.
func TestResendAcrossSegments(t *testing.T) {
	const kept = 30
	e := newEnv(t, func(_ *config.Config, o *fix.Options) {
		o.Store = fix.StoreOptions{MessagesMax: kept, SegmentBytes: 2 << 10}
	})
	c := dialRaw(t, e.a.Addr().String())
	c.logon("BANKA", config.DemoPassword)
	sent := map[int]*msg{} // ExecutionReports by MsgSeqNum
	last := 0
	for i := range 120 {
		id := fmt.Sprintf("rs%d", i)
		c.send(nos(id, "55=USD/CNY|54=1|38=100000|40=2|44=7.0000"))
		m := c.expect("35=8|150=0|11="+id, 5*time.Second)
		last, _ = strconv.Atoi(m.get("34"))
		sent[last] = m
	}
	// The janitor goroutine unlinks a retired segment after the commit
	// that retired it: give it up to 5 s.
	firstSegment := func() string {
		ents, err := os.ReadDir(filepath.Join(e.dir, "fix-sessions"))
		if err != nil {
			t.Fatal(err)
		}
		for _, de := range ents {
			if strings.Contains(de.Name(), "BANKA") && strings.HasSuffix(de.Name(), ".000000000001.fixlog") {
				return de.Name()
			}
		}
		return ""
	}
	for deadline := time.Now().Add(5 * time.Second); firstSegment() != "" && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if name := firstSegment(); name != "" {
		t.Fatalf("the first segment was not retired: %s", name)
	}
	c.send("35=2|7=1|16=0")
	next, firstResent := 1, 0
	for next <= last {
		m, err := c.read(5 * time.Second)
		if err != nil {
			t.Fatalf("resend stopped before %d (last %d): %v", next, last, err)
		}
		if seq, _ := strconv.Atoi(m.get("34")); seq != next {
			t.Fatalf("resend: %s, want MsgSeqNum %d", m, next)
		}
		switch {
		case m.is("35=4|123=Y"):
			if firstResent != 0 {
				t.Fatalf("gap fill %s after a resent message (from %d)", m, firstResent)
			}
			next, _ = strconv.Atoi(m.get("36"))
		case m.is("35=8|43=Y"):
			orig := sent[next]
			if orig == nil || !m.is("11="+orig.get("11")+"|37="+orig.get("37")+"|150=0|122="+orig.get("52")) {
				t.Fatalf("resent %d: %s, sent as %v", next, m, orig)
			}
			if firstResent == 0 {
				firstResent = next
			}
			next++
		default:
			t.Fatalf("resend: %s", m)
		}
	}
	if firstResent == 0 || firstResent > last-kept+1 || firstResent <= 2 {
		t.Fatalf("resent from %d to %d: want at least the last %d, and the oldest ones forgotten", firstResent, last, kept)
	}
}

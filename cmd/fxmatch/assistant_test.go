package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"fxmatch/assistant/service"
	"fxmatch/gateway/bus"
	"fxmatch/internal/natstest"
)

// TestAssistantCommand runs `fxmatch assistant` against a NATS server
// with users, scores an order through it, and stops it by its context.
func TestAssistantCommand(t *testing.T) {
	ns := natstest.RunWith(t, &server.Options{Users: []*server.User{{Username: "asst", Password: "s3cret"}, {Username: "venue", Password: "v"}}})
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("s3cret\n"), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"assistant", "--nats-url", ns.ClientURL(), "--user", "asst", "--password-file", pwFile}, nil, &stdout, &stderr)
	}()
	nc, err := nats.Connect(ns.ClientURL(), nats.UserInfo("venue", "v"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	natstest.CheckFor(t, 10*time.Second, func() error {
		if !strings.Contains(stdout.String(), "serving fxmatch-assistant") {
			return errString("not serving yet: " + stdout.String() + stderr.String())
		}
		return nil
	})
	req := service.ScoreRequest{Participant: "BANKA", ClOrdID: "o1", Symbol: "USD/CNY", Side: "buy", OrdType: "limit",
		TIF: "day", Qty: "5000000", Price: "7.1020", Source: "10.0.0.1"}
	m, err := nc.Request(bus.AssistantScore, req.AppendJSON(nil), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r service.ScoreResponse
	if err := json.Unmarshal(m.Data, &r); err != nil || r.OrderID != "o1" || r.Action != "allow" {
		t.Fatalf("score: %q %v", m.Data, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK || !strings.Contains(stdout.String(), "stopped") {
			t.Fatalf("exit %d, stdout %q stderr %q", code, stdout.String(), stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the assistant did not stop")
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestAssistantCommandLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"assistant"}, exitUsage, "--nats-url is required"},
		{[]string{"assistant", "--nats-url", "nats://x", "--user", "u"}, exitUsage, "--user and --password-file go together"},
		{[]string{"assistant", "--nats-url", "nats://x", "--quote-interval", "1ms"}, exitUsage, "--quote-interval 1ms: want 10ms to 1h"},
		{[]string{"assistant", "--nats-url", "nats://x", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"assistant", "--nats-url", "nats://x", "--config", "/nonexistent.toml"}, exitFail, "nonexistent.toml"},
		{[]string{"assistant", "--nats-url", "nats://x", "--journal", "/nonexistent-journal"}, exitFail, "a running venue holds its journal"},
		{[]string{"assistant", "--nats-url", "nats://x", "--user", "u", "--password-file", "/nonexistent-pw"}, exitFail, "--password-file"},
	} {
		var stdout, stderr syncBuffer
		if code := run(context.Background(), c.args, nil, &stdout, &stderr); code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}

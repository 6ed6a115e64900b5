package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/crypto/bcrypt"
)

// TestConfigNATSServer: the printed configuration is one nats-server
// reads, with every participant and the two internal users, the
// documented permissions, and only bcrypt hashes of the passwords.
func TestConfigNATSServer(t *testing.T) {
	dir := t.TempDir()
	vpw, apw := filepath.Join(dir, "v"), filepath.Join(dir, "a")
	os.WriteFile(vpw, []byte("venue-password-123\n"), 0o600)
	os.WriteFile(apw, []byte("assistant-password-456\n"), 0o600)
	code, out, errs := runCmd(t, "", "config", "nats-server", "--venue-password-file", vpw, "--assistant-password-file", apw, "--listen", "10.0.0.1:4222")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Contains(out, "venue-password-123") || strings.Contains(out, "assistant-password-456") {
		t.Fatal("a password appears in the output")
	}
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("nats-server cannot read it: %v\n%s", err, out)
	}
	if opts.Host != "10.0.0.1" || opts.Port != 4222 {
		t.Errorf("listen %s:%d", opts.Host, opts.Port)
	}
	users := map[string]*server.User{}
	for _, u := range opts.Users {
		users[u.Username] = u
	}
	for _, id := range []string{"BANKA", "BANKB", "BANKC", "BROKER1", "REGULATOR", "venue", "assistant"} {
		if users[id] == nil {
			t.Fatalf("no user %s", id)
		}
	}
	if bcrypt.CompareHashAndPassword([]byte(users["venue"].Password), []byte("venue-password-123")) != nil ||
		bcrypt.CompareHashAndPassword([]byte(users["BANKA"].Password), []byte("demo")) != nil {
		t.Error("password hashes do not match")
	}
	a := users["BANKA"].Permissions
	if !slices.Equal(a.Publish.Allow, []string{"fxmatch.assistant.recommend", "fxmatch.assistant.chat"}) ||
		!slices.Contains(a.Subscribe.Allow, "fxmatch.exec.BANKA") || slices.Contains(a.Subscribe.Allow, "fxmatch.exec.>") ||
		!slices.Contains(a.Subscribe.Allow, "_INBOX.BANKA.>") {
		t.Errorf("BANKA's permissions: %+v %+v", a.Publish, a.Subscribe)
	}
	if !slices.Contains(users["REGULATOR"].Permissions.Subscribe.Allow, "fxmatch.exec.>") {
		t.Error("the regulator's drop copy of all is not granted")
	}

	code, _, errs = runCmd(t, "", "config", "nats-server", "--venue-password-file", vpw)
	if code != exitFail || !strings.Contains(errs, "--assistant-password-file") {
		t.Errorf("without the assistant's password: exit %d, %s", code, errs)
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	code, _, errs = runCmd(t, "", "config", "nats-server", "--venue-password-file", short, "--assistant-password-file", apw)
	if code != exitFail || !strings.Contains(errs, "shorter than 12 characters") {
		t.Errorf("short password: exit %d, %s", code, errs)
	}
}

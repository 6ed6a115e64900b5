package main

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fxmatch/config"
	"fxmatch/fix/fixbench"
	"fxmatch/internal/testcert"
)

// TestServeFIXOverTLS: with [listen] fix_tls_cert and fix_tls_key, serve's
// FIX port speaks TLS: a Go TLS client that trusts the (self-signed)
// certificate logs on; a plain TCP client does not get a Logon back.
func TestServeFIXOverTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := testcert.Write(t, dir)
	text := strings.Replace(string(config.Example()), `nats = "127.0.0.1:4222"`,
		"nats = \"127.0.0.1:4222\"\nfix_tls_cert = \""+cert+"\"\nfix_tls_key = \""+key+"\"", 1)
	file := filepath.Join(dir, "tls.toml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	args := []string{"serve", "--config", file, "--data", filepath.Join(dir, "d"), "--fix-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}
	go func() { done <- run(ctx, args, strings.NewReader(""), &out, &errb) }()
	defer func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("serve exit %d:\n%s", code, errb.String())
		}
	}()
	if !checkFor(t, 20*time.Second, func() bool { return strings.Contains(out.String(), "fxmatch: running") }) {
		t.Fatalf("serve did not start; stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
	var addr string
	for _, line := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "FIX 4.4"); ok {
			addr = strings.Fields(rest)[0]
			if !strings.Contains(line, "TLS (certificate "+cert+")") {
				t.Errorf("the banner does not say FIX speaks TLS: %s", line)
			}
		}
	}
	c, err := fixbench.Dial(ctx, addr, fixbench.DialOptions{
		Sender: "BANKA", Password: config.DemoPassword,
		TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"},
	})
	if err != nil {
		t.Fatalf("TLS logon: %v", err)
	}
	if err := c.Logout(5 * time.Second); err != nil {
		t.Errorf("TLS logout: %v", err)
	}
	c.Close()
	// Plain TCP to the TLS port: the handshake fails, no Logon.
	if c, err := fixbench.Dial(ctx, addr, fixbench.DialOptions{Sender: "BANKB", Password: config.DemoPassword, Timeout: 3 * time.Second}); err == nil {
		c.Close()
		t.Error("a plain TCP client logged on to the TLS port")
	}
}

// A configuration whose TLS files cannot be read is refused by serve and
// by config check, naming the key and the file.
func TestServeFIXTLSBadFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.crt")
	text := strings.Replace(string(config.Example()), `nats = "127.0.0.1:4222"`,
		"nats = \"127.0.0.1:4222\"\nfix_tls_cert = \""+missing+"\"\nfix_tls_key = \""+missing+"\"", 1)
	file := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"serve", "--config", file, "--data", filepath.Join(dir, "d"), "--fix-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"},
		{"config", "check", file},
	} {
		code, _, errs := runCmd(t, "", args...)
		if code != exitFail || !strings.Contains(errs, "listen.fix_tls_cert") || !strings.Contains(errs, missing) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d naming listen.fix_tls_cert and %s", args[0], code, errs, exitFail, missing)
		}
	}
}

package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fxmatch/internal/testcert"
)

func TestFIXTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, _ := testcert.Write(t, dir)
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.crt")

	// Neither: plain TCP.
	c := Demo()
	if tc, err := c.FIXTLS(); err != nil || tc != nil {
		t.Fatalf("no keys: %v, %v; want plain TCP", tc, err)
	}
	// Both, a real pair: a TLS configuration with the certificate.
	c.Listen.FIXTLSCert, c.Listen.FIXTLSKey = cert, key
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	tc, err := c.FIXTLS()
	if err != nil || tc == nil || len(tc.Certificates) != 1 {
		t.Fatalf("a good pair: %v, %v", tc, err)
	}
	for _, tcase := range []struct {
		name       string
		cert, key  string
		validate   bool // Validate refuses it (else only FIXTLS)
		wantKey    string
		wantDetail string
	}{
		{"cert without key", cert, "", true, "listen.fix_tls_key", "needs its private key"},
		{"key without cert", "", key, true, "listen.fix_tls_cert", "needs its certificate"},
		{"unreadable cert", missing, key, false, "listen.fix_tls_cert", missing},
		{"unreadable key", cert, missing, false, "listen.fix_tls_key", missing},
		{"not PEM", other, key, false, "listen.fix_tls_cert", "not a PEM certificate"},
		{"swapped", key, cert, false, "listen.fix_tls_cert", "not a PEM certificate"},
	} {
		c := Demo()
		c.Listen.FIXTLSCert, c.Listen.FIXTLSKey = tcase.cert, tcase.key
		verr := c.Validate()
		if tcase.validate != (verr != nil) {
			t.Errorf("%s: Validate = %v", tcase.name, verr)
		}
		_, err := c.FIXTLS()
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tcase.wantKey) || !strings.Contains(err.Error(), tcase.wantDetail) {
			t.Errorf("%s: FIXTLS = %v; want an error naming %s and %q", tcase.name, err, tcase.wantKey, tcase.wantDetail)
		}
	}
}

// A file with only one of the keys is refused at the line that has it.
func TestFIXTLSInFile(t *testing.T) {
	text := strings.Replace(string(Example()), `nats = "127.0.0.1:4222"`, "nats = \"127.0.0.1:4222\"\nfix_tls_cert = \"fix.crt\"", 1)
	_, err := Parse([]byte(text), "x.toml")
	if err == nil || !strings.Contains(err.Error(), "x.toml:") || !strings.Contains(err.Error(), "listen.fix_tls_key") {
		t.Fatalf("err = %v, want it to name the file and listen.fix_tls_key", err)
	}
}

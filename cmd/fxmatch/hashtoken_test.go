package main

import (
	"bytes"
	"strings"
	"testing"

	"fxmatch/config"
)

func TestConfigHashToken(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runConfig([]string{"hash-token"}, strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var tok, hash string
	for _, l := range strings.Split(out.String(), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == "token" {
			tok = f[1]
		}
		if len(f) == 2 && f[0] == "api_token_hash" {
			hash = f[1]
		}
	}
	if !strings.HasPrefix(tok, "fxm_") || config.HashAPIToken(tok) != hash {
		t.Fatalf("token %q hash %q do not match:\n%s", tok, hash, out.String())
	}
	if code := runConfig([]string{"hash-token", "x"}, strings.NewReader(""), &out, &errb); code == exitOK {
		t.Error("an argument was accepted")
	}
}

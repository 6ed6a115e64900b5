package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestBenchGatewayFlags: every bad flag value is refused, naming it.
func TestBenchGatewayFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"http", "--rate", "0"}, "--rate 0"},
		{[]string{"http", "--duration", "1ms"}, "--duration 1ms"},
		{[]string{"http", "--durability", "maybe"}, `--durability "maybe"`},
		{[]string{"http", "--addr", "localhost:8080"}, `--addr "localhost:8080"`},
		{[]string{"http", "--tokens", "onlyone"}, `--tokens "onlyone"`},
		{[]string{"http", "--price", "abc"}, `--price "abc"`},
		{[]string{"http", "--inflight", "0"}, "--inflight 0"},
		{[]string{"http", "extra"}, `unexpected argument "extra"`},
		{[]string{"ws", "--subscribers", "0"}, "--subscribers 0"},
		{[]string{"ws", "--drive", "pigeon"}, `--drive "pigeon"`},
		{[]string{"ws", "--drive", "direct", "--addr", "http://127.0.0.1:1"}, "--drive direct needs the in-process venue"},
	} {
		var out, errb bytes.Buffer
		code := runBench(context.Background(), c.args, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want usage naming %q", c.args, code, errb.String(), c.want)
		}
	}
	var out, errb bytes.Buffer
	if code := runBench(context.Background(), []string{"http", "--help"}, &out, &errb); code != exitOK || !strings.Contains(out.String(), "open") {
		t.Errorf("help: %d %q", code, out.String())
	}
}

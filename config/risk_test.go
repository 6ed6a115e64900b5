package config

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRiskDefaults(t *testing.T) {
	p := Demo().RiskPolicy()
	want := RiskPolicy{Enabled: true, Review: 0.05, Block: 0.5, Deadline: 2 * time.Millisecond}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("demo risk policy %+v, want %+v", p, want)
	}
}

func TestRiskSection(t *testing.T) {
	base := string(Example())
	c, err := Parse([]byte(base+"\n[risk]\nenabled = false\nreview_threshold = 0.1\nblock_threshold = 0.9\ndeadline = \"500us\"\non_failure = \"closed\"\nshared_sources = [\"10.1.2.3/8\", \"192.0.2.7\", \"fd00::/8\"]\n"), "x.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := RiskPolicy{Enabled: false, Review: 0.1, Block: 0.9, Deadline: 500 * time.Microsecond, FailClosed: true,
		SharedSources: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("fd00::/8")}}
	if p := c.RiskPolicy(); !reflect.DeepEqual(p, want) {
		t.Fatalf("policy %+v, want %+v", p, want)
	}
	for _, c := range []struct{ body, want string }{
		{`deadline = "2 ms"`, `risk.deadline: "2 ms" is not a duration`},
		{`deadline = "0s"`, `risk.deadline: deadline 0s: want more than 0`},
		{`deadline = "1m"`, `at most 10s`},
		{`review_threshold = 1.5`, `risk.review_threshold: review threshold 1.5: want a score above 0 and at most 1`},
		{`block_threshold = -1`, `risk.block_threshold: block threshold -1: want`},
		{"review_threshold = 0.6\nblock_threshold = 0.5", `review threshold 0.6 is above the block threshold 0.5`},
		{`on_failure = "ignore"`, `risk.on_failure: unknown policy "ignore" (want "open" or "closed")`},
		{`fail_open = true`, `risk.fail_open: unknown key`},
		{`enabled = "yes"`, `risk.enabled`},
		{`shared_sources = ["10.0.0.0/8", "proxy.example"]`, `risk.shared_sources: entry 2: "proxy.example" is neither a network`},
		{`shared_sources = ["10.0.0.0/33"]`, `risk.shared_sources: entry 1: "10.0.0.0/33" is neither`},
	} {
		_, err := Parse([]byte(base+"\n[risk]\n"+c.body+"\n"), "x.toml")
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.body, err, c.want)
		}
	}
}

package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

func fmtScore(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Risk is the pre-trade scoring policy ([risk]): every new order and
// replace is scored by the assistant (fxmatch.assistant.score) before it is
// sequenced. An empty section means the defaults: scoring on, review at
// 0.05, block at 0.5, a 2 ms deadline, and fail-open.
//
//	[risk]
//	enabled = true            # false: orders are not scored at all
//	review_threshold = 0.05   # score at or above which an order trades and raises an alert
//	block_threshold = 0.5     # score at or above which an order is rejected ("risk: …")
//	deadline = "2ms"          # longest wait for a score
//	on_failure = "open"       # no score in time: "open" lets the order through with an
//	                          # alert, "closed" rejects it ("risk: scoring unavailable (…)")
//	shared_sources = ["10.0.0.0/8"]  # optional: networks of proxies or gateways many
//	                          # participants connect through; an address in them (like a
//	                          # loopback address, always) is not a device, so participants
//	                          # behind it never count as sharing one (assistant/fraud)
//
// Thresholds are probabilities, not amounts, so they are plain TOML
// numbers; 0 (or absent) means the default.
type Risk struct {
	Enabled         *bool    `toml:"enabled"`
	ReviewThreshold float64  `toml:"review_threshold"`
	BlockThreshold  float64  `toml:"block_threshold"`
	Deadline        string   `toml:"deadline"`
	OnFailure       string   `toml:"on_failure"`
	SharedSources   []string `toml:"shared_sources"`
}

// Defaults of [risk].
const (
	DefaultRiskReview   = 0.05
	DefaultRiskBlock    = 0.5
	DefaultRiskDeadline = 2 * time.Millisecond
	RiskFailOpen        = "open"
	RiskFailClosed      = "closed"
)

// RiskPolicy is [risk] with the defaults filled in and the values
// converted.
type RiskPolicy struct {
	Enabled    bool
	Review     float64
	Block      float64
	Deadline   time.Duration
	FailClosed bool
	// SharedSources are the networks of shared_sources (an address is a
	// network of one).
	SharedSources []netip.Prefix
}

// RiskPolicy converts [risk]; the configuration must have passed Validate.
func (c *Config) RiskPolicy() RiskPolicy {
	p, _ := c.Risk.policy()
	return p
}

func (r *Risk) policy() (RiskPolicy, error) {
	p := RiskPolicy{Enabled: true, Review: DefaultRiskReview, Block: DefaultRiskBlock, Deadline: DefaultRiskDeadline}
	if r.Enabled != nil {
		p.Enabled = *r.Enabled
	}
	if r.ReviewThreshold != 0 {
		p.Review = r.ReviewThreshold
	}
	if r.BlockThreshold != 0 {
		p.Block = r.BlockThreshold
	}
	if r.Deadline != "" {
		d, err := time.ParseDuration(r.Deadline)
		if err != nil {
			return p, fmt.Errorf("%q is not a duration (e.g. \"2ms\", \"500us\")", r.Deadline)
		}
		p.Deadline = d
	}
	switch r.OnFailure {
	case "", RiskFailOpen:
	case RiskFailClosed:
		p.FailClosed = true
	}
	for _, s := range r.SharedSources {
		n, err := parseNetwork(s)
		if err != nil {
			return p, err
		}
		p.SharedSources = append(p.SharedSources, n)
	}
	return p, nil
}

// parseNetwork reads a shared_sources entry: a CIDR network or one
// address.
func parseNetwork(s string) (netip.Prefix, error) {
	if n, err := netip.ParsePrefix(s); err == nil {
		return n.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("%q is neither a network (\"10.0.0.0/8\") nor an address (\"192.0.2.7\")", s)
}

func (c *Config) validateRisk() error {
	r := &c.Risk
	for i, s := range r.SharedSources {
		if _, err := parseNetwork(s); err != nil {
			return c.errf("risk.shared_sources", s, "entry %d: %v", i+1, err)
		}
	}
	p, err := r.policy()
	if err != nil {
		return c.errf("risk.deadline", r.Deadline, "%v", err)
	}
	if p.Deadline <= 0 || p.Deadline > 10*time.Second {
		return c.errf("risk.deadline", r.Deadline, "deadline %s: want more than 0 and at most 10s (an order waits this long for its score)", p.Deadline)
	}
	if !(p.Review > 0 && p.Review <= 1) {
		return c.errf("risk.review_threshold", fmtScore(r.ReviewThreshold), "review threshold %s: want a score above 0 and at most 1", fmtScore(r.ReviewThreshold))
	}
	if !(p.Block > 0 && p.Block <= 1) {
		return c.errf("risk.block_threshold", fmtScore(r.BlockThreshold), "block threshold %s: want a score above 0 and at most 1", fmtScore(r.BlockThreshold))
	}
	if p.Review > p.Block {
		return c.errf("risk.review_threshold", fmtScore(p.Review), "review threshold %v is above the block threshold %v", p.Review, p.Block)
	}
	switch r.OnFailure {
	case "", RiskFailOpen, RiskFailClosed:
	default:
		return c.errf("risk.on_failure", r.OnFailure, "unknown policy %q (want %q or %q)", r.OnFailure, RiskFailOpen, RiskFailClosed)
	}
	return nil
}

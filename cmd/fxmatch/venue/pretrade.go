package venue

import (
	"context"
	"errors"
	"strings"

	"fxmatch/engine"
)

// Origin says where an order came from, for pre-trade scoring: the
// channel ("fix" or "http"), the network or device origin, and the
// session it arrived on.
type Origin struct {
	Channel string
	Source  string
	Session string
}

// ErrRiskBlocked matches (errors.Is) a *RiskBlock.
var ErrRiskBlocked = errors.New("venue: risk: blocked by pre-trade scoring")

// RiskBlock is the error of an order refused by pre-trade scoring.
type RiskBlock struct {
	Score   float64
	Reasons []string
}

func (b *RiskBlock) Error() string {
	return "risk: " + strings.Join(b.Reasons, "; ")
}

func (b *RiskBlock) Is(target error) bool { return target == ErrRiskBlocked }

// SubmitOrder is how the front ends (FIX, HTTP) enter an order or a
// replace: it is scored before it is sequenced, then submitted.
//
// Pre-trade scoring is not wired in yet: SubmitOrder is Submit.
func (v *Venue) SubmitOrder(ctx context.Context, cmd *engine.Command, o Origin) error {
	return v.Submit(cmd)
}

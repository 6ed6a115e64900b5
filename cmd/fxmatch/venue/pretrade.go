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

// Screener decides whether an order may be sequenced: nil lets it
// through, a *RiskBlock refuses it (assistant/risk.Gate scores it on the
// assistant over NATS). It must return within its own deadline whatever
// happens to the assistant: SubmitOrder waits for it. It is called from
// every front end's goroutines at once. It must not keep cmd, nor
// anything cmd points into, after it returns: the front ends reuse the
// command for their next order (fix's submitOrder, to save an
// allocation per order).
type Screener interface {
	Screen(ctx context.Context, cmd *engine.Command, o Origin) error
}

// screenerBox lets an interface value sit behind an atomic pointer.
type screenerBox struct{ s Screener }

// SetScreener installs pre-trade scoring for every later SubmitOrder (nil
// removes it). Set it before the front ends start taking orders.
func (v *Venue) SetScreener(s Screener) {
	if s == nil {
		v.screener.Store(nil)
		return
	}
	v.screener.Store(&screenerBox{s})
}

// SubmitOrder is how the front ends (FIX, HTTP) enter an order or a
// replace: it is scored by the screener, if one is set, before it is
// sequenced, then submitted. Without a screener it is Submit plus one
// atomic load. A refusal is a *RiskBlock (errors.Is ErrRiskBlocked); the
// order never reaches the engine or the journal (the screener logs and
// alerts it). It keeps nothing of *cmd once it has returned (the shard
// input copies it, and so may a Screener).
func (v *Venue) SubmitOrder(ctx context.Context, cmd *engine.Command, o Origin) error {
	v.countOrder(o.Channel)
	if b := v.screener.Load(); b != nil && (cmd.Kind == engine.CmdNewOrder || cmd.Kind == engine.CmdReplace) {
		if err := b.s.Screen(ctx, cmd, o); err != nil {
			v.countBlocked(err)
			return err
		}
	}
	return v.Submit(cmd)
}

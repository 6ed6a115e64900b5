// Package risk is the venue's pre-trade gate: before an order or a replace
// is sequenced, venue.SubmitOrder hands it to Gate.Screen, which asks the
// assistant (fxmatch.assistant.score, over NATS) for its score and applies
// the configured policy ([risk], config.RiskPolicy):
//
//	score ≥ block_threshold   → refused: *venue.RiskBlock, "risk: <reasons>"
//	                            (FIX 103=99; HTTP 422 reason "risk"), alert
//	score ≥ review_threshold  → trades, alert on fxmatch.risk.alerts.<P>
//	otherwise                 → trades
//	no score within deadline  → on_failure "open": trades, alert "unscored";
//	                            "closed": refused, "risk: scoring unavailable (…)"
//
// It never hangs: every request carries the deadline, and after
// breakerFailures failures in a row the breaker opens and the gate stops
// asking for breakerCooldown, so a dead assistant costs an order nothing
// but the policy's answer; then one order probes, and a success closes the
// breaker.
//
// Blocked orders are not journaled: they never reach the engine. Each is
// logged (participant, ClOrdID, score, reasons) and published as an alert,
// which is where a regulator finds them; the journal holds what the engine
// was given.
package risk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"fxmatch/assistant/service"
	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/gateway/bus"
)

// Breaker settings: after breakerFailures scoring failures in a row the
// gate stops asking for breakerCooldown. Five in a row is beyond what a GC
// pause or one slow request explains; a second is short enough that
// scoring resumes soon after the assistant is back.
const (
	breakerFailures = 5
	breakerCooldown = time.Second
)

// Options configures New.
type Options struct {
	Logger *slog.Logger
	// Clock stamps requests and alerts (nil: the wall clock).
	Clock func() time.Time
}

// Gate is the pre-trade screener the venue calls (venue.Screener).
type Gate struct {
	nc     *nats.Conn
	policy config.RiskPolicy
	log    *slog.Logger
	clock  func() time.Time

	parties []string // by engine.PartyID
	insts   []engine.Instrument
	dec     []int // tick decimals by instrument
	book    func(engine.InstrumentID) (bid, ask, last engine.Price)

	bufs sync.Pool

	mu        sync.Mutex // guards the breaker
	fails     int
	openUntil time.Time
	probing   bool

	stats Stats
}

// Stats counts the gate's decisions since it started.
type Stats struct {
	Scored      atomic.Uint64 // orders that got a score
	Reviewed    atomic.Uint64
	Blocked     atomic.Uint64
	Failed      atomic.Uint64 // orders without a score (timeout, error, breaker open)
	FailClosed  atomic.Uint64 // of those, refused by the fail-closed policy
	BreakerOpen atomic.Uint64 // times the breaker opened
}

// New returns the gate of venue v, asking over nc (the venue's own NATS
// connection, which may publish requests to fxmatch.assistant.score and
// alerts to fxmatch.risk.alerts.>).
func New(v *venue.Venue, nc *nats.Conn, policy config.RiskPolicy, opts Options) *Gate {
	g := newGate(nc, policy, opts, v.Config(), v.Instruments())
	g.book = func(id engine.InstrumentID) (bid, ask, last engine.Price) {
		b := v.Book(id)
		if b == nil {
			return 0, 0, 0
		}
		if len(b.Bids) > 0 {
			bid = b.Bids[0].Price
		}
		if len(b.Asks) > 0 {
			ask = b.Asks[0].Price
		}
		return bid, ask, b.RefPrice
	}
	return g
}

func newGate(nc *nats.Conn, policy config.RiskPolicy, opts Options, cfg *config.Config, insts []engine.Instrument) *Gate {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	g := &Gate{nc: nc, policy: policy, log: opts.Logger, clock: opts.Clock, insts: insts}
	g.parties = make([]string, len(cfg.Participants)+1)
	for i, p := range cfg.Participants {
		g.parties[i+1] = p.ID
	}
	for _, in := range insts {
		g.dec = append(g.dec, engine.TickDecimals(in.Tick))
	}
	g.book = func(engine.InstrumentID) (engine.Price, engine.Price, engine.Price) { return 0, 0, 0 }
	g.bufs.New = func() any { b := make([]byte, 0, 512); return &b }
	return g
}

// Stats are the gate's counters.
func (g *Gate) Stats() *Stats { return &g.stats }

// Screen scores cmd (a new order or a replace) and applies the policy.
func (g *Gate) Screen(ctx context.Context, cmd *engine.Command, o venue.Origin) error {
	if !g.policy.Enabled {
		return nil
	}
	if int(cmd.Party) >= len(g.parties) || cmd.Party == engine.NoParty || int(cmd.Instrument) >= len(g.insts) {
		// The engine rejects it with the exact reason; there is nothing
		// to score.
		return nil
	}
	now := g.clock()
	req := g.request(cmd, o, now)
	if err := g.admit(now); err != nil {
		return g.failed(&req, err, now)
	}
	resp, err := g.ask(ctx, &req)
	g.settle(err, now)
	if err != nil {
		return g.failed(&req, err, now)
	}
	g.stats.Scored.Add(1)
	switch {
	case resp.Score >= g.policy.Block:
		g.stats.Blocked.Add(1)
		reasons := resp.Reasons
		if len(reasons) == 0 {
			reasons = []string{fmt.Sprintf("score %.2f at or above the block threshold %v", resp.Score, g.policy.Block)}
		}
		g.log.Warn("risk: order blocked", "participant", req.Participant, "cl_ord_id", req.ClOrdID, "symbol", req.Symbol,
			"score", resp.Score, "reasons", reasons)
		g.alert(&req, resp.Score, "block", reasons, now)
		return &venue.RiskBlock{Score: resp.Score, Reasons: reasons}
	case resp.Score >= g.policy.Review:
		g.stats.Reviewed.Add(1)
		g.alert(&req, resp.Score, "review", resp.Reasons, now)
	}
	return nil
}

// request is the score request of cmd.
func (g *Gate) request(cmd *engine.Command, o venue.Origin, now time.Time) service.ScoreRequest {
	in := &g.insts[cmd.Instrument]
	d := g.dec[cmd.Instrument]
	r := service.ScoreRequest{
		Participant: g.parties[cmd.Party],
		Account:     cmd.Account.String(),
		ClOrdID:     cmd.ClOrdID.String(),
		Symbol:      in.Symbol,
		Side:        "buy",
		OrdType:     "limit",
		TIF:         cmd.TIF.String(),
		Qty:         service.Num(strconv.FormatInt(int64(cmd.Qty), 10)),
		Channel:     o.Channel,
		Source:      sourceHost(o.Source),
		Session:     o.Session,
		Time:        now.UTC().Format(time.RFC3339Nano),
	}
	if cmd.Side == engine.Sell {
		r.Side = "sell"
	}
	if cmd.OrdType == engine.Market {
		r.OrdType = "market"
	}
	if cmd.Kind == engine.CmdReplace {
		r.OrigClOrdID = cmd.OrigClOrdID.String()
	}
	if cmd.Price > 0 {
		r.Price = service.Num(engine.FormatPrice(cmd.Price, d))
	}
	bid, ask, last := g.book(cmd.Instrument)
	switch {
	case bid > 0 && ask > bid:
		r.Mid = service.Num(engine.FormatPrice((bid+ask)/2, min(d+1, engine.PriceDecimals)))
	case last > 0:
		r.Mid = service.Num(engine.FormatPrice(last, d))
	}
	return r
}

// sourceHost is the origin without its port: a FIX session's remote
// address changes port on every connection, and a new port is not a new
// device.
func sourceHost(src string) string {
	if h, _, err := net.SplitHostPort(src); err == nil {
		return h
	}
	return src
}

// errBreakerOpen is the failure of an order not sent for scoring.
var errBreakerOpen = errors.New("the assistant failed repeatedly; not asking again for a moment")

// admit says whether to ask the assistant: not while the breaker is open,
// except for one probe once the cooldown is over.
func (g *Gate) admit(now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fails < breakerFailures {
		return nil
	}
	if now.Before(g.openUntil) || g.probing {
		return errBreakerOpen
	}
	g.probing = true
	return nil
}

// settle records the outcome of a request for the breaker.
func (g *Gate) settle(err error, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.probing = false
	if err == nil || errors.Is(err, errBadRequest) {
		if g.fails >= breakerFailures {
			g.log.Info("risk: the assistant answers again; scoring resumes")
		}
		g.fails = 0
		return
	}
	g.fails++
	if g.fails >= breakerFailures {
		if g.fails == breakerFailures {
			g.stats.BreakerOpen.Add(1)
			g.log.Warn("risk: the assistant failed repeatedly; orders follow the on-failure policy without asking for a while",
				"failures", g.fails, "cooldown", breakerCooldown, "err", err, "fail_closed", g.policy.FailClosed)
		}
		g.openUntil = now.Add(breakerCooldown)
	}
}

// errBadRequest: the assistant refused the request itself (a 400); it is
// alive, so this does not count toward the breaker.
var errBadRequest = errors.New("the assistant refused the request")

// ask sends the request and waits for the score, never past the deadline.
func (g *Gate) ask(ctx context.Context, req *service.ScoreRequest) (service.ScoreResponse, error) {
	timeout := g.policy.Deadline
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return service.ScoreResponse{}, context.DeadlineExceeded
	}
	if g.nc == nil {
		return service.ScoreResponse{}, errors.New("the venue has no NATS connection")
	}
	bp := g.bufs.Get().(*[]byte)
	*bp = req.AppendJSON((*bp)[:0])
	m, err := g.nc.Request(bus.AssistantScore, *bp, timeout)
	g.bufs.Put(bp)
	var resp service.ScoreResponse
	switch {
	case errors.Is(err, nats.ErrTimeout):
		return resp, fmt.Errorf("no score within %v", g.policy.Deadline)
	case errors.Is(err, nats.ErrNoResponders):
		return resp, errors.New("no assistant is listening on " + bus.AssistantScore)
	case err != nil:
		return resp, err
	}
	if code := m.Header.Get(micro.ErrorCodeHeader); code != "" {
		if code == service.CodeBadRequest {
			return resp, fmt.Errorf("%w: %s", errBadRequest, m.Header.Get(micro.ErrorHeader))
		}
		return resp, fmt.Errorf("assistant error %s: %s", code, m.Header.Get(micro.ErrorHeader))
	}
	if err := json.Unmarshal(m.Data, &resp); err != nil {
		return resp, fmt.Errorf("unreadable score: %v", err)
	}
	if !(resp.Score >= 0 && resp.Score <= 1) {
		return resp, fmt.Errorf("score %v is not between 0 and 1", resp.Score)
	}
	return resp, nil
}

// failed applies the on-failure policy to an order that got no score.
func (g *Gate) failed(req *service.ScoreRequest, cause error, now time.Time) error {
	g.stats.Failed.Add(1)
	why := "scoring unavailable (" + cause.Error() + ")"
	if g.policy.FailClosed {
		g.stats.FailClosed.Add(1)
		g.alert(req, 0, "block", []string{why}, now)
		return &venue.RiskBlock{Reasons: []string{why}}
	}
	g.alert(req, 0, "unscored", []string{why}, now)
	return nil
}

// alert publishes a risk alert about the order's participant. Publishing
// does not wait: if the bus is down the alert is lost, and the order is
// not held for it.
func (g *Gate) alert(req *service.ScoreRequest, score float64, action string, reasons []string, now time.Time) {
	a := service.Alert{
		Participant: req.Participant, ClOrdID: req.ClOrdID, Symbol: req.Symbol,
		Score: score, Action: action, Reasons: reasons, Time: now.UTC().Format(time.RFC3339Nano),
	}
	if g.nc == nil {
		return // no bus: nowhere to publish, and a log line per order would drown the log
	}
	data, err := json.Marshal(&a)
	if err == nil {
		err = g.nc.Publish(bus.RiskAlertSubject(req.Participant), data)
	}
	if err != nil {
		g.log.Warn("risk: alert not published", "participant", req.Participant, "cl_ord_id", req.ClOrdID, "action", action, "err", err)
	}
}

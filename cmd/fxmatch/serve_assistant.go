package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"fxmatch/assistant/risk"
	"fxmatch/assistant/service"
	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/gateway/wire"
)

// assistantRun is serve's trading assistant (in-process unless
// --no-assistant) and the venue's pre-trade gate.
type assistantRun struct {
	v    *venue.Venue
	svc  *service.Service // nil: not in-process
	nc   *nats.Conn       // the in-process assistant's own connection
	gate *risk.Gate       // nil: scoring disabled
	line string           // the banner's line
	// books sets the bus's book sink (bus.Bus.SetBookSink), which feeds
	// the in-process assistant its books.
	books func(func(*wire.Book))
}

// startAssistant runs the in-process assistant, when inProcess, on its own
// connection (connect: the bus's AssistantConnect), after rebuilding its
// profiles from the venue's journal; then installs the pre-trade gate,
// which asks fxmatch.assistant.score over venueConn, the venue's own
// connection — the same subject whether the assistant runs here or as
// `fxmatch assistant` elsewhere. Call it before the front ends take
// orders: an order that arrives earlier is not scored.
func startAssistant(v *venue.Venue, cfg *config.Config, inProcess bool, connect func() (*nats.Conn, error), venueConn *nats.Conn,
	books func(func(*wire.Book)), logger *slog.Logger) (*assistantRun, error) {
	a := &assistantRun{v: v, books: books, line: "not in-process (--no-assistant): a standalone `fxmatch assistant` answers on the bus"}
	if inProcess {
		// In the venue's process the assistant takes the venue's
		// execution events and trades from its hub and its books from the
		// bus's publisher, not over NATS (service.Options.Hub and
		// BooksInProcess say why).
		opts := service.Options{Logger: logger, Hub: v.Hub(), Names: wire.NamesFor(cfg, v.Instruments()), BooksInProcess: true}
		if err := service.FromConfig(cfg, &opts); err != nil {
			return nil, err
		}
		svc, err := service.New(opts)
		if err != nil {
			return nil, err
		}
		st, err := svc.Rebuild(cfg, v.Journal().Reader(), service.RebuildOptions{})
		if err != nil {
			return nil, fmt.Errorf("assistant: rebuilding the profiles from the journal: %w", err)
		}
		if a.nc, err = connect(); err != nil {
			return nil, fmt.Errorf("assistant: NATS: %w", err)
		}
		svc.SetConn(a.nc)
		if err := svc.Start(); err != nil {
			a.nc.Close()
			return nil, err
		}
		a.svc = svc
		books(svc.TakeBookDoc)
		a.line = fmt.Sprintf("in-process; %d fraud profiles rebuilt from the journal since %s (%d orders, %d fills, %v)",
			st.Accounts, st.From.UTC().Format("2006-01-02"), st.Orders, st.Fills, st.Took.Round(time.Millisecond))
	}
	p := cfg.RiskPolicy()
	if !p.Enabled {
		a.line += "; pre-trade scoring OFF ([risk] enabled = false)"
		return a, nil
	}
	a.gate = risk.New(v, venueConn, p, risk.Options{Logger: logger})
	v.SetScreener(a.gate)
	onFailure := "fail-open (trades, alert)"
	if p.FailClosed {
		onFailure = "fail-closed (rejected)"
	}
	a.line += fmt.Sprintf("; pre-trade scoring: review ≥ %v, block ≥ %v, deadline %v, %s", p.Review, p.Block, p.Deadline, onFailure)
	return a, nil
}

// Close removes the gate and stops the in-process assistant. Call it after
// the front ends have stopped.
func (a *assistantRun) Close() {
	if a.gate != nil {
		a.v.SetScreener(nil)
	}
	if a.svc != nil {
		a.books(nil)
		a.svc.Stop()
		a.nc.Close()
	}
}

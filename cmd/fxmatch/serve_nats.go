package main

import (
	"context"
	"fmt"
	"log/slog"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/gateway/bus"
)

// startNATS brings up the venue's NATS bus: the embedded server on
// listen.nats, or the connection to [nats] url / --nats-url. It runs
// before the venue so that the bus misses no event, and it is closed after
// the venue's Run has returned (every durable event published) and after
// the gateway and the assistant, which use its connections, have stopped.
func startNATS(ctx context.Context, v *venue.Venue, cfg *config.Config, logger *slog.Logger) (*bus.Bus, error) {
	b, err := bus.Start(ctx, v, cfg, bus.Options{Logger: logger})
	if err != nil {
		if cfg.NATS.External() {
			return nil, fmt.Errorf("NATS %s: %w", cfg.NATS.URL, err)
		}
		return nil, fmt.Errorf("NATS listener %s: %w", cfg.Listen.NATS, err)
	}
	return b, nil
}

// natsBanner is the banner's NATS line: where clients connect and how.
func natsBanner(b *bus.Bus) string {
	if b.Embedded() {
		return b.ClientURL() + "  embedded (participants: user=CompID, password as on FIX; subjects fxmatch.md|trades|exec.>)"
	}
	state := "connected"
	if !b.Stats().Connected {
		state = "NOT connected yet: retrying in the background, matching goes on"
	}
	return "external " + b.ClientURL() + " (" + state + ")"
}

package main

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/nats-io/nats.go"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/gateway"
)

// httpFront is the running HTTP/WebSocket API.
type httpFront struct {
	gw   *gateway.Server
	ln   net.Listener
	done chan struct{}
}

// startHTTP builds the gateway (before the venue runs, so its hub feeds
// miss no event) and serves it on addr. bus may be nil; fixf (the FIX
// acceptor, for /readyz and /metrics) and busDropped (the bus's count of
// events it could not publish, for /metrics) may be nil.
func startHTTP(v *venue.Venue, addr string, bus *nats.Conn, busDropped func() uint64, fixf gateway.FIXStatus, logger *slog.Logger) (*httpFront, error) {
	gw, err := gateway.New(v, gateway.Options{Logger: logger, Bus: bus, BusDropped: busDropped, FIX: fixf})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		gw.Close()
		return nil, fmt.Errorf("HTTP listener %s: %w", addr, err)
	}
	f := &httpFront{gw: gw, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		if err := gw.Serve(ln); err != nil {
			logger.Error("HTTP server stopped", "err", err)
		}
	}()
	return f, nil
}

// Addr is the address the API listens on.
func (f *httpFront) Addr() string { return f.ln.Addr().String() }

// Close stops the API and waits for its server to return.
func (f *httpFront) Close() {
	f.gw.Close()
	<-f.done
}

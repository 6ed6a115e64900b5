package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/gateway/wire"
)

// Options configures New. The zero value of every field but the venue is
// usable.
type Options struct {
	Logger *slog.Logger
	// Bus is the venue's NATS connection; nil when the bus is not running
	// (the quotes and alerts stream channels then answer "not available").
	Bus *nats.Conn
	// OrderTimeout bounds how long a request waits for the durable outcome
	// of an order, cancel or replace (default 5 s). After it the answer is
	// 504 and the order's fate is found with GET /orders/{id}.
	OrderTimeout time.Duration
	// RatePerSecond and RateBurst are each participant's request budget
	// (token bucket; defaults: the participant's FIX throttle_per_second,
	// capped at 1,000, and a burst of the same size).
	RatePerSecond int
	RateBurst     int
	// BodyMax bounds a request body (default 64 KiB).
	BodyMax int64
	// StreamsPerParticipant bounds each participant's open WebSocket
	// streams (default 1024).
	StreamsPerParticipant int
	// Now is the wall clock (tests inject one); default time.Now.
	Now func() time.Time
	// Assistant answers the storefront's assistant routes; nil means the
	// assistant service over Bus (store_api.go).
	Assistant AssistantRequester
	// FIX is the FIX acceptor, for /readyz and /metrics (nil: no FIX
	// front end; its check then reads "not configured").
	FIX FIXStatus
	// BusDropped, if not nil, counts the hub events the NATS publisher
	// could not publish (/metrics).
	BusDropped func() uint64
}

// Principal is an authenticated caller: a participant of the
// configuration.
type Principal struct {
	ID    string         // the participant's ID (its FIX CompID)
	Party engine.PartyID // its index in the engine
	Role  string         // config.RoleBank, RoleBroker or RoleRegulator
	// TokenID names the token used (a short prefix of its hash), for logs
	// and pre-trade scoring's session.
	TokenID string
}

// CanTrade reports whether the principal may send orders.
func (p *Principal) CanTrade() bool { return p.Role != config.RoleRegulator }

// Server is the HTTP and WebSocket API. It is built before the venue runs
// (New subscribes to the hub, so no durable event is missed) and served
// on a listener of the caller's choosing.
type Server struct {
	// feedMu guards the feed loops' subscriptions (instState.sub,
	// partyState.sub) between a loop replacing one and stopFeeds ending
	// them all; feedsStopped says stopFeeds has run (installFeed).
	feedMu       sync.Mutex
	feedsStopped bool

	v    *venue.Venue
	cfg  *config.Config
	log  *slog.Logger
	bus  *nats.Conn
	opts Options

	mux *http.ServeMux
	// patterns are the registered routes, for the OpenAPI test.
	patterns []string
	srv      *http.Server
	// demoOff is set when the server is served on a listener that is not
	// loopback: demo tokens are refused then whatever the configuration
	// says (a second guard behind config.CheckListeners).
	demoOff atomic.Bool

	names  *wire.Names
	tokens []tokenEntry
	// creditLim[shard][a][b] is the limit a grants b in that shard
	// (credit.go), guarded by creditMu.
	creditMu  sync.Mutex
	creditLim [][][]int64
	limit     *limiter
	parties   []*partyState // by engine.PartyID; [0] unused
	insts     []*instState  // by global InstrumentID
	stores    *storeGroup   // store_api.go

	ops *opsState // ops_api.go, metrics.go, regulator_api.go

	closeOnce sync.Once
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// New builds the API server around v. It subscribes to the venue's hub at
// once, so it must be called before v.Run.
func New(v *venue.Venue, opts Options) (*Server, error) {
	if v == nil {
		return nil, errors.New("gateway: no venue")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.OrderTimeout <= 0 {
		opts.OrderTimeout = 5 * time.Second
	}
	if opts.BodyMax <= 0 {
		opts.BodyMax = 64 << 10
	}
	if opts.StreamsPerParticipant <= 0 {
		opts.StreamsPerParticipant = 1024
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{v: v, cfg: v.Config(), log: opts.Logger, bus: opts.Bus, opts: opts, mux: http.NewServeMux()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.tokens = newTokenTable(s.cfg)
	s.limit = newLimiter(s.cfg, opts.RatePerSecond, opts.RateBurst)
	if err := s.startFeeds(); err != nil {
		s.cancel()
		return nil, err
	}
	s.routes()
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
	}
	return s, nil
}

// Handler is the API's handler (for tests with httptest, or to mount
// elsewhere).
func (s *Server) Handler() http.Handler { return s.mux }

// Serve serves the API on ln until Close. A listener that is not on
// loopback switches the demo tokens off.
func (s *Server) Serve(ln net.Listener) error {
	if !config.IsLoopback(ln.Addr().String()) {
		s.demoOff.Store(true)
	}
	err := s.srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the server: the listener, open requests (given a second to
// finish), streams, and the hub feeds.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s.cancel() // ends streams and waiters
		err = s.srv.Shutdown(ctx)
		if err != nil {
			err = s.srv.Close()
		}
		s.stopFeeds()
		s.wg.Wait()
	})
	return err
}

func (s *Server) errorf(format string, args ...any) error {
	return fmt.Errorf("gateway: "+format, args...)
}

package gateway

import (
	"net/http"
)

// routesOps registers the operators' routes (health, readiness, metrics)
// and the regulator's (regulator_api.go), and starts the metrics feed.
// It runs inside New, before the venue runs, so the feed misses no event.
func (s *Server) routesOps() {
	s.ops = newOpsState()
	if err := s.startMetricsFeed(); err != nil {
		// Only a closed hub refuses a subscription: the venue has already
		// stopped, which /readyz reports.
		s.log.Error("gateway: no metrics feed", "err", err)
	}
	s.public("GET /healthz", s.getHealthz)
	s.public("GET /readyz", s.getReadyz)
	s.public("GET /metrics", s.getMetrics)
	s.routesRegulator()
}

// getHealthz answers while the process serves HTTP at all: a liveness
// probe restarts a process that stops answering, not one whose venue is
// unready.
func (s *Server) getHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyCheck is one line of /readyz.
type readyCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// getReadyz says whether the venue can take and acknowledge orders now:
// the venue running, its journal writable, the FIX acceptor listening,
// and the NATS connection up when one is configured. 200 when all hold,
// 503 otherwise; the body names each check either way.
func (s *Server) getReadyz(w http.ResponseWriter, r *http.Request) {
	checks := s.readyChecks()
	ready := true
	for _, c := range checks {
		ready = ready && c.OK
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, map[string]any{"ready": ready, "checks": checks})
}

func (s *Server) readyChecks() []readyCheck {
	v := s.v
	var out []readyCheck
	venueOK := v.Running()
	detail := "running: orders are taken"
	if !venueOK {
		detail = "not running (not started yet, or stopped)"
	}
	out = append(out, readyCheck{"venue", venueOK, detail})

	jerr := v.Journal().Err()
	if jerr != nil {
		out = append(out, readyCheck{"journal", false, "not writable: " + jerr.Error()})
	} else {
		out = append(out, readyCheck{"journal", true, "writable"})
	}

	switch {
	case s.opts.FIX == nil:
		out = append(out, readyCheck{"fix", true, "not configured in this process"})
	case s.opts.FIX.Listening():
		out = append(out, readyCheck{"fix", true, "listening"})
	default:
		out = append(out, readyCheck{"fix", false, "not listening (closed)"})
	}

	switch {
	case s.bus == nil:
		out = append(out, readyCheck{"nats", true, "not configured"})
	case s.bus.IsConnected():
		out = append(out, readyCheck{"nats", true, "connected to " + s.bus.ConnectedUrlRedacted()})
	default:
		out = append(out, readyCheck{"nats", false, "not connected (status " + s.bus.Status().String() + ")"})
	}
	return out
}

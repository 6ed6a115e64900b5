package gateway

import (
	"net/http"
)

// routes registers every route group. Each group lives in its own file and
// registers through public and authed, so that every route is in
// s.patterns (the OpenAPI document is tested against it) and every authed
// route is authenticated and rate-limited the same way.
func (s *Server) routes() {
	s.routesCore()  // core_api.go: orders, books, trades, instruments, credit, stream
	s.routesStore() // store_api.go: stores and listings, assistant
	s.routesOps()   // ops_api.go: regulator, metrics, health
}

// public registers a route that needs no authentication.
func (s *Server) public(pattern string, h http.HandlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, h)
}

// authed registers a route that needs a participant's token; the handler
// gets the principal. Requests are rate-limited per participant.
func (s *Server) authed(pattern string, h func(w http.ResponseWriter, r *http.Request, p *Principal)) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.principalOf(w, r)
		if !ok {
			return
		}
		if ok, wait := s.limit.allow(p.Party, s.opts.Now()); !ok {
			rateLimited(w, r, p, wait)
			return
		}
		h(w, r, p)
	})
}

// Patterns lists the registered route patterns, in registration order.
func (s *Server) Patterns() []string { return append([]string(nil), s.patterns...) }

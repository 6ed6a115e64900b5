package gateway

import (
	"io/fs"
	"mime"
	"net"
	"net/http"
	"path"
	"strings"

	"fxmatch/config"
	"fxmatch/gateway/web"
)

// routesWeb serves the storefront (gateway/web) at "/", and the two small
// API calls only it needs: who the token belongs to, and — on loopback
// only — the demo tokens for the login page.
func (s *Server) routesWeb() {
	s.authed("GET /api/v1/session", s.getSession)
	s.public("GET /api/v1/storefront/demo", s.getDemoTokens)
	s.public("GET /", s.serveWeb)
}

type sessionJSON struct {
	Participant string `json:"participant"`
	Role        string `json:"role"`
	CanTrade    bool   `json:"can_trade"`
}

// getSession says whose token it is, so the page can show the views of
// the participant's role.
func (s *Server) getSession(w http.ResponseWriter, r *http.Request, p *Principal) {
	writeJSON(w, http.StatusOK, sessionJSON{Participant: p.ID, Role: p.Role, CanTrade: p.CanTrade()})
}

type demoTokenJSON struct {
	Participant string `json:"participant"`
	Role        string `json:"role"`
	Token       string `json:"token"`
}

// getDemoTokens lists the demo participants' tokens, and only while they
// work: the server is on loopback (demo tokens are refused otherwise) and
// the request came over loopback. Elsewhere the list is empty.
func (s *Server) getDemoTokens(w http.ResponseWriter, r *http.Request) {
	out := []demoTokenJSON{}
	if !s.demoOff.Load() && loopbackRequest(r) {
		for i := range s.tokens {
			e := &s.tokens[i]
			if e.ok && e.demo {
				out = append(out, demoTokenJSON{Participant: e.p.ID, Role: e.p.Role, Token: config.DemoAPIToken(e.p.ID)})
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func loopbackRequest(r *http.Request) bool {
	la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || !config.IsLoopback(la.String()) {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// webCSP keeps the page to its own origin: no inline script, no third
// party, nothing framed.
const webCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// serveWeb serves the storefront's files; "/" is index.html. Anything
// else that no route matched is a 404 problem (API clients get JSON
// whatever path they mistype).
func (s *Server) serveWeb(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	if strings.HasPrefix(name, "api/") {
		writeProblem(w, r, notFound("no such API route: "+r.URL.Path+" (see /openapi.json)"))
		return
	}
	b, err := fs.ReadFile(web.Files, name)
	if err != nil || strings.HasSuffix(name, ".go") {
		writeProblem(w, r, notFound("no such page: "+r.URL.Path))
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if strings.HasSuffix(name, ".js") {
		ct = "text/javascript; charset=utf-8"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", webCSP)
	h.Set("Referrer-Policy", "no-referrer")
	// The files change only with the binary; revalidate so a new binary's
	// page is picked up at once.
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"fxmatch/config"
	"fxmatch/engine"
)

// Authentication: every request but the public ones (instruments'
// metadata is not public either: only /healthz, /readyz, /metrics,
// /openapi.json and the storefront's files are) carries
// "Authorization: Bearer <token>". The token's SHA-256 is compared with
// every participant's api_token_hash in constant time, all of them every
// time, so neither the time taken nor the answer reveals which
// participants exist or how close a guess was.

type tokenEntry struct {
	hash [sha256.Size]byte
	ok   bool // the participant has a token at all
	demo bool
	p    Principal
}

func newTokenTable(cfg *config.Config) []tokenEntry {
	toks := cfg.APITokenHashes()
	out := make([]tokenEntry, len(cfg.Participants))
	for i := range cfg.Participants {
		p := &cfg.Participants[i]
		e := &out[i]
		e.p = Principal{ID: p.ID, Party: engine.PartyID(i + 1), Role: p.Role}
		if toks[i].Hash == "" {
			continue
		}
		b, err := hex.DecodeString(toks[i].Hash)
		if err != nil || len(b) != sha256.Size {
			continue // Validate refuses such a hash; be safe anyway
		}
		copy(e.hash[:], b)
		e.ok, e.demo = true, toks[i].Demo
		e.p.TokenID = toks[i].Hash[:8]
	}
	return out
}

// bearer extracts the token from an Authorization header value.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// authenticate finds the principal a token belongs to.
func (s *Server) authenticate(token string) (*Principal, bool) {
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range s.tokens {
		e := &s.tokens[i]
		eq := subtle.ConstantTimeCompare(sum[:], e.hash[:])
		if eq == 1 && e.ok && found < 0 {
			found = i
		}
	}
	if found < 0 {
		return nil, false
	}
	e := &s.tokens[found]
	if e.demo && s.demoOff.Load() {
		return nil, false
	}
	p := e.p
	return &p, true
}

func unauthorized(detail string) Problem {
	return newProblem(http.StatusUnauthorized, "unauthorized", "Unauthorized", detail)
}

func forbidden(detail string) Problem {
	return newProblem(http.StatusForbidden, "forbidden", "Forbidden", detail)
}

// principalOf authenticates a request by its Authorization header.
func (s *Server) principalOf(w http.ResponseWriter, r *http.Request) (*Principal, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fxmatch"`)
		writeProblem(w, r, unauthorized("no Authorization header: send \"Authorization: Bearer <token>\" (demo participants on loopback: demo-<id in lower case>)"))
		return nil, false
	}
	tok, ok := bearer(h)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fxmatch", error="invalid_request"`)
		writeProblem(w, r, unauthorized("the Authorization header must be \"Bearer <token>\""))
		return nil, false
	}
	p, ok := s.authenticate(tok)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fxmatch", error="invalid_token"`)
		writeProblem(w, r, unauthorized("the token is not valid"))
		return nil, false
	}
	return p, true
}

// limiter is a token bucket per participant: RatePerSecond tokens a
// second up to RateBurst. Refused requests cost nothing.
type limiter struct {
	mu      sync.Mutex
	rate    []float64 // by party
	burst   []float64
	tokens  []float64
	updated []time.Time
}

func newLimiter(cfg *config.Config, rate, burst int) *limiter {
	n := len(cfg.Participants) + 1
	l := &limiter{rate: make([]float64, n), burst: make([]float64, n), tokens: make([]float64, n), updated: make([]time.Time, n)}
	for i := range cfg.Participants {
		r := rate
		if r <= 0 {
			r = min(cfg.Participants[i].ThrottlePerSecond, 1000)
		}
		b := burst
		if b <= 0 {
			b = r
		}
		l.rate[i+1], l.burst[i+1], l.tokens[i+1] = float64(r), float64(b), float64(b)
	}
	return l
}

// allow takes one token of party p's bucket; when there is none it returns
// how long until there is.
func (l *limiter) allow(p engine.PartyID, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate[p] <= 0 {
		return false, time.Second
	}
	if !l.updated[p].IsZero() {
		el := now.Sub(l.updated[p]).Seconds()
		if el > 0 {
			l.tokens[p] = math.Min(l.burst[p], l.tokens[p]+el*l.rate[p])
		}
	}
	l.updated[p] = now
	if l.tokens[p] >= 1 {
		l.tokens[p]--
		return true, 0
	}
	wait := time.Duration((1 - l.tokens[p]) / l.rate[p] * float64(time.Second))
	return false, wait
}

// rateLimited writes the 429 problem.
func rateLimited(w http.ResponseWriter, r *http.Request, p *Principal, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeProblem(w, r, newProblem(http.StatusTooManyRequests, "rate-limited", "Too many requests",
		p.ID+" has used its request budget; retry after "+strconv.Itoa(secs)+" s"))
}

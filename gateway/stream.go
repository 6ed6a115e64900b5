package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"

	"fxmatch/engine"
	"fxmatch/gateway/bus"
)

// The stream: GET /api/v1/stream upgrades to a WebSocket. The client
// authenticates with the Authorization header, or ?token= (browsers cannot
// set headers on a WebSocket), or a first message {"op":"auth","token":…}
// within authWait. It then sends
//
//	{"op":"subscribe","channel":"book|trades|exec|quotes|alerts","symbol":"USDCNY"}
//	{"op":"unsubscribe",…the same…}
//
// (symbol for book, trades and quotes; exec and alerts are the caller's
// own only) and receives JSON text messages, each an object with a
// "channel" member: "book" (gateway/wire Book, sent at once on subscribing
// and after every change), "trades" (wire Trade), "exec" (wire ExecEvent),
// "quotes" and "alerts" (the bus's documents), "subscribed",
// "unsubscribed" and "error" (with "detail").
//
// Every connection has a bounded queue (streamQueue messages) for trades,
// executions and replies; books are conflated (the latest unsent book per
// instrument replaces an older one). Fan-out never blocks: a connection
// whose queue is full is closed with status 1008 and the reason "slow
// consumer", and must reconnect and resubscribe (the book is sent whole on
// subscribing, so nothing is lost but trades and executions in between,
// which GET /trades and GET /orders give).

const (
	streamQueue    = 1024
	streamDepth    = 10
	authWait       = 5 * time.Second
	writeTimeout   = 10 * time.Second
	streamMsgMax   = 4 << 10
	maxStreamSubs  = 64
	chanCount      = 5
	slowConsumer   = "slow consumer: the connection fell behind and was closed; reconnect"
	shuttingDown   = "the venue is shutting down"
	closeAuthError = "authentication failed"
)

type chanKind uint8

const (
	chBook chanKind = iota
	chTrades
	chExec
	chQuotes
	chAlerts
)

var chanNames = [chanCount]string{"book", "trades", "exec", "quotes", "alerts"}

func parseChan(s string) (chanKind, bool) {
	for i, n := range chanNames {
		if n == s {
			return chanKind(i), true
		}
	}
	return 0, false
}

// streamSet is the connections subscribed to some channels of one
// instrument or participant.
type streamSet struct {
	mu sync.RWMutex
	m  [chanCount]map[*wsConn]struct{}
	n  [chanCount]atomic.Int32
}

func (ss *streamSet) init() {
	for i := range ss.m {
		ss.m[i] = map[*wsConn]struct{}{}
	}
}

// has is a cheap check before encoding a message nobody wants.
func (ss *streamSet) has(k chanKind) bool { return ss.n[k].Load() > 0 }

func (ss *streamSet) add(k chanKind, c *wsConn) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if _, dup := ss.m[k][c]; dup {
		return false
	}
	ss.m[k][c] = struct{}{}
	ss.n[k].Add(1)
	return true
}

func (ss *streamSet) remove(k chanKind, c *wsConn) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if _, ok := ss.m[k][c]; !ok {
		return false
	}
	delete(ss.m[k], c)
	ss.n[k].Add(-1)
	return true
}

// sendBook offers instrument id's book to every book subscriber
// (conflated per connection).
func (ss *streamSet) sendBook(id engine.InstrumentID, msg []byte) {
	ss.mu.RLock()
	for c := range ss.m[chBook] {
		c.sendBook(id, msg)
	}
	ss.mu.RUnlock()
}

// send offers msg to every subscriber of k without blocking.
func (ss *streamSet) send(k chanKind, msg []byte) {
	ss.mu.RLock()
	for c := range ss.m[k] {
		c.send(msg)
	}
	ss.mu.RUnlock()
}

func (ss *streamSet) closeAll(reason string) {
	ss.mu.RLock()
	for k := range ss.m {
		for c := range ss.m[k] {
			c.drop(websocket.StatusGoingAway, reason)
		}
	}
	ss.mu.RUnlock()
}

// wsConn is one WebSocket connection.
type wsConn struct {
	s   *Server
	c   *websocket.Conn
	p   *Principal
	out chan []byte

	once   sync.Once
	gone   chan struct{}
	code   websocket.StatusCode
	reason string

	mu   sync.Mutex // guards subs
	subs []streamSub

	// Books are conflated: a connection holds at most one unsent book per
	// instrument, the latest, so a client that reads slowly gets fresher
	// books rather than a backlog (and the fan-out does no more work than
	// the client can take). Trades and executions are queued in out, in
	// order, never conflated.
	bookMu  sync.Mutex
	books   map[engine.InstrumentID][]byte
	bookSig chan struct{}
}

// sendBook makes msg the connection's next book of instrument id.
func (c *wsConn) sendBook(id engine.InstrumentID, msg []byte) {
	c.bookMu.Lock()
	if c.books == nil {
		c.books = map[engine.InstrumentID][]byte{}
	}
	c.books[id] = msg
	c.bookMu.Unlock()
	select {
	case c.bookSig <- struct{}{}:
	default:
	}
}

// takeBooks returns the pending books (nil if none).
func (c *wsConn) takeBooks() map[engine.InstrumentID][]byte {
	c.bookMu.Lock()
	defer c.bookMu.Unlock()
	if len(c.books) == 0 {
		return nil
	}
	b := c.books
	c.books = nil
	return b
}

// streamSub is one subscription of a connection.
type streamSub struct {
	k    chanKind
	set  *streamSet // nil for bus channels
	inst engine.InstrumentID
	nats *nats.Subscription
}

// send queues msg; a full queue drops the connection.
func (c *wsConn) send(msg []byte) {
	select {
	case <-c.gone:
	case c.out <- msg:
	default:
		c.drop(websocket.StatusPolicyViolation, slowConsumer)
	}
}

// drop closes the connection with a status and reason (once).
func (c *wsConn) drop(code websocket.StatusCode, reason string) {
	c.once.Do(func() {
		c.code, c.reason = code, reason
		close(c.gone)
	})
}

// controlMsg is what a client sends.
type controlMsg struct {
	Op      string `json:"op"`
	Channel string `json:"channel"`
	Symbol  string `json:"symbol"`
	Token   string `json:"token"`
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	// Header or query token: authenticate before upgrading, so a bad one
	// gets a plain 401 problem.
	var p *Principal
	if r.Header.Get("Authorization") != "" {
		var ok bool
		if p, ok = s.principalOf(w, r); !ok {
			return
		}
	} else if tok := r.URL.Query().Get("token"); tok != "" {
		var ok bool
		if p, ok = s.authenticate(tok); !ok {
			writeProblem(w, r, unauthorized("the token is not valid"))
			return
		}
	}
	if p != nil {
		if ok, wait := s.limit.allow(p.Party, s.opts.Now()); !ok {
			rateLimited(w, r, p, wait)
			return
		}
	}
	if p != nil && !s.claimConn(p) {
		writeProblem(w, r, s.tooManyStreams(p))
		return
	}
	// Counted before the upgrade, while http.Server.Shutdown still waits
	// for this handler, so Close's wait cannot miss it.
	s.wg.Add(1)
	defer s.wg.Done()
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		if p != nil {
			s.parties[p.Party].conns.Add(-1)
		}
		return // Accept has answered
	}
	c.SetReadLimit(streamMsgMax)
	s.wsClientDelta(1) // fxmatch_ws_clients (metrics.go)
	defer s.wsClientDelta(-1)
	wc := &wsConn{s: s, c: c, p: p, out: make(chan []byte, streamQueue), gone: make(chan struct{}), bookSig: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		wc.writer(ctx)
	}()
	wc.readLoop(ctx)
	wc.unsubscribeAll()
	if wc.p != nil {
		s.parties[wc.p.Party].conns.Add(-1)
	}
	cancel()
	<-writerDone
}

// claimConn counts a stream of p, refusing one beyond the bound.
func (s *Server) claimConn(p *Principal) bool {
	ps := s.parties[p.Party]
	if ps.conns.Add(1) > int32(s.opts.StreamsPerParticipant) {
		ps.conns.Add(-1)
		return false
	}
	return true
}

func (s *Server) tooManyStreams(p *Principal) Problem {
	return newProblem(http.StatusTooManyRequests, "too-many-streams", "Too many streams",
		p.ID+" has "+strconv.Itoa(s.opts.StreamsPerParticipant)+" streams open already")
}

// writer sends queued messages until the connection is dropped, then
// closes it with the reason.
func (c *wsConn) writer(ctx context.Context) {
	write := func(msg []byte) bool {
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err := c.c.Write(wctx, websocket.MessageText, msg)
		cancel()
		if err != nil {
			c.drop(websocket.StatusGoingAway, "write failed")
			c.c.CloseNow()
			return false
		}
		return true
	}
	for {
		select {
		case msg := <-c.out:
			if !write(msg) {
				return
			}
		case <-c.bookSig:
			for _, msg := range c.takeBooks() {
				if !write(msg) {
					return
				}
			}
		case <-c.gone:
			c.c.Close(c.code, c.reason)
			return
		case <-ctx.Done():
			c.drop(websocket.StatusGoingAway, shuttingDown)
			c.c.Close(c.code, c.reason)
			return
		}
	}
}

// readLoop handles the client's messages until the connection ends.
func (c *wsConn) readLoop(ctx context.Context) {
	// Reads end when the connection is dropped too.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.gone:
			cancel()
		case <-rctx.Done():
		}
	}()
	if c.p == nil {
		actx, acancel := context.WithTimeout(rctx, authWait)
		_, data, err := c.c.Read(actx)
		acancel()
		if err != nil {
			c.drop(websocket.StatusPolicyViolation, "authenticate first: send {\"op\":\"auth\",\"token\":…} within "+authWait.String())
			return
		}
		m, perr := decodeControl(data)
		if perr != "" || m.Op != "auth" {
			c.drop(websocket.StatusPolicyViolation, "authenticate first: the first message must be {\"op\":\"auth\",\"token\":…}")
			return
		}
		p, ok := c.s.authenticate(m.Token)
		if !ok {
			c.drop(websocket.StatusPolicyViolation, closeAuthError)
			return
		}
		if !c.s.claimConn(p) {
			c.drop(websocket.StatusTryAgainLater, c.s.tooManyStreams(p).Detail)
			return
		}
		c.p = p
		c.reply(map[string]any{"channel": "authenticated", "participant": p.ID})
	}
	for {
		_, data, err := c.c.Read(rctx)
		if err != nil {
			c.drop(websocket.StatusNormalClosure, "")
			return
		}
		m, perr := decodeControl(data)
		if perr != "" {
			c.errorMsg(perr, "")
			continue
		}
		switch m.Op {
		case "subscribe":
			c.subscribe(m)
		case "unsubscribe":
			c.unsubscribe(m)
		case "auth":
			c.errorMsg("already authenticated as "+c.p.ID, "auth")
		default:
			c.errorMsg("unknown op "+strconv.Quote(m.Op)+" (want subscribe or unsubscribe)", m.Op)
		}
	}
}

// decodeControl reads a client message strictly.
func decodeControl(data []byte) (controlMsg, string) {
	var m controlMsg
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return m, typ.Field + " must be a string"
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return m, "unknown member " + f + " (want op, channel, symbol, token)"
		}
		return m, "the message must be a JSON object such as {\"op\":\"subscribe\",\"channel\":\"book\",\"symbol\":\"USDCNY\"}"
	}
	return m, ""
}

func (c *wsConn) reply(v any) {
	b, err := json.Marshal(v)
	if err == nil {
		c.send(b)
	}
}

func (c *wsConn) errorMsg(detail, op string) {
	m := map[string]any{"channel": "error", "detail": detail}
	if op != "" {
		m["op"] = op
	}
	c.reply(m)
}

// target resolves a subscription's channel and symbol.
func (c *wsConn) target(m controlMsg) (streamSub, string, bool) {
	k, ok := parseChan(m.Channel)
	if !ok {
		c.errorMsg("unknown channel "+strconv.Quote(m.Channel)+" (want book, trades, exec, quotes or alerts)", m.Op)
		return streamSub{}, "", false
	}
	sub := streamSub{k: k}
	sym := ""
	switch k {
	case chBook, chTrades, chQuotes:
		code := strings.ReplaceAll(m.Symbol, "/", "")
		id, ok := c.s.instrumentByCode(code)
		if !ok {
			c.errorMsg("channel "+m.Channel+" needs a symbol the venue lists (e.g. \"USDCNY\"), not "+strconv.Quote(m.Symbol), m.Op)
			return streamSub{}, "", false
		}
		sub.inst, sym = id, c.s.names.Symbol(id)
		if k != chQuotes {
			sub.set = &c.s.insts[id].streams
		}
	case chExec, chAlerts:
		if m.Symbol != "" {
			c.errorMsg("channel "+m.Channel+" takes no symbol: it is the caller's own "+m.Channel, m.Op)
			return streamSub{}, "", false
		}
		if k == chExec {
			sub.set = &c.s.parties[c.p.Party].streams
		}
	}
	return sub, sym, true
}

func (c *wsConn) subscribe(m controlMsg) {
	sub, sym, ok := c.target(m)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.subs) >= maxStreamSubs {
		c.errorMsg("at most "+strconv.Itoa(maxStreamSubs)+" subscriptions per connection", m.Op)
		return
	}
	for _, x := range c.subs {
		if x.k == sub.k && x.inst == sub.inst {
			c.errorMsg("already subscribed to "+m.Channel+" "+sym, m.Op)
			return
		}
	}
	if sub.set == nil {
		ns, err := c.s.busSubscribe(c, sub.k, sub.inst)
		if err != nil {
			c.errorMsg(err.Error(), m.Op)
			return
		}
		sub.nats = ns
	}
	ack := map[string]any{"channel": "subscribed", "subscribed": m.Channel}
	if sym != "" {
		ack["symbol"] = sym
	}
	c.reply(ack)
	if sub.k == chBook {
		// The whole book first, then changes: the add and the snapshot
		// happen under the instrument's publishing order (publishBook
		// reads the same state), so no change falls between them.
		st := c.s.insts[sub.inst]
		st.mu.Lock()
		b := c.s.names.AppendBook(make([]byte, 0, 1024), st.id, st.seq, st.time, st.bids, st.asks, streamDepth)
		c.sendBook(st.id, frame("book", b))
		sub.set.add(sub.k, c)
		st.mu.Unlock()
	} else if sub.set != nil {
		sub.set.add(sub.k, c)
	}
	c.subs = append(c.subs, sub)
}

func (c *wsConn) unsubscribe(m controlMsg) {
	sub, sym, ok := c.target(m)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.subs {
		if x.k == sub.k && x.inst == sub.inst {
			c.release(x)
			c.subs = append(c.subs[:i], c.subs[i+1:]...)
			ack := map[string]any{"channel": "unsubscribed", "unsubscribed": m.Channel}
			if sym != "" {
				ack["symbol"] = sym
			}
			c.reply(ack)
			return
		}
	}
	c.errorMsg("not subscribed to "+m.Channel+" "+sym, m.Op)
}

func (c *wsConn) release(x streamSub) {
	if x.set != nil {
		x.set.remove(x.k, c)
	}
	if x.nats != nil {
		x.nats.Unsubscribe()
	}
}

func (c *wsConn) unsubscribeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range c.subs {
		c.release(x)
	}
	c.subs = nil
}

// busSubscribe forwards a bus subject (quotes, alerts) to the connection.
func (s *Server) busSubscribe(c *wsConn, k chanKind, inst engine.InstrumentID) (*nats.Subscription, error) {
	if s.bus == nil {
		return nil, errors.New("channel " + chanNames[k] + " is not available: the venue runs without its message bus")
	}
	var subj string
	switch k {
	case chQuotes:
		subj = bus.QuoteSubject(c.p.ID, s.names.Code(inst))
	case chAlerts:
		subj = bus.RiskAlertSubject(c.p.ID)
	}
	name := chanNames[k]
	return s.bus.Subscribe(subj, func(m *nats.Msg) {
		if len(m.Data) < 2 || m.Data[0] != '{' {
			return
		}
		c.send(frame(name, m.Data))
	})
}

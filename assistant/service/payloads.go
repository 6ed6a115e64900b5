package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"fxmatch/assistant/chat"
	"fxmatch/assistant/fraud"
	"fxmatch/gateway/wire"
)

// The assistant's subjects are gateway/bus's: its endpoints
// bus.AssistantScore, bus.AssistantRecommend and bus.AssistantChat of the
// micro service bus.AssistantService; it reads bus.MDAll, bus.TradesAll
// and bus.ExecAll and publishes bus.QuoteSubject.

// Error codes of the endpoints (micro's Nats-Service-Error-Code header):
// 400 a request the service cannot take as sent (the description names the
// field and the value), 403 a participant asking for another's
// recommendation, 404 nothing to answer yet (no book for the pair), 500
// the service failed.
const (
	CodeBadRequest = "400"
	CodeForbidden  = "403"
	CodeNotFound   = "404"
	CodeInternal   = "500"
)

// ScoreRequest is the body of fxmatch.assistant.score: an order as the
// venue is about to sequence it, where it came from, and the market's mid
// at that moment. Prices and quantities are decimal strings (JSON numbers
// are taken too).
//
//	{"participant":"BANKA","cl_ord_id":"o-17","symbol":"USD/CNY","side":"buy",
//	 "ord_type":"limit","tif":"day","qty":"5000000","price":"7.1020","mid":"7.10205",
//	 "channel":"fix","source":"10.1.2.3","session":"BANKA"}
type ScoreRequest struct {
	Participant string `json:"participant"`
	// Account is the FIX Account(1) of the order, if any: profiles are
	// kept per participant and account.
	Account string `json:"account,omitempty"`
	ClOrdID string `json:"cl_ord_id"`
	// OrigClOrdID is set for a replace: the order it replaces is taken as
	// pulled (cancelled) and the replacement scored as a new order.
	OrigClOrdID string `json:"orig_cl_ord_id,omitempty"`
	Symbol      string `json:"symbol"`
	Side        string `json:"side"`     // buy | sell
	OrdType     string `json:"ord_type"` // limit | market
	TIF         string `json:"tif"`      // day | gtc | ioc | fok | gtd
	Qty         Num    `json:"qty"`
	Price       Num    `json:"price,omitempty"`
	Mid         Num    `json:"mid,omitempty"`
	Channel     string `json:"channel,omitempty"` // fix | http
	// Source is the device or network origin of the session (an IP
	// address, a device fingerprint); Session the session it came on.
	Source  string `json:"source,omitempty"`
	Session string `json:"session,omitempty"`
	// Time is when the order was sent (RFC 3339); empty means now, by the
	// assistant's clock.
	Time string `json:"time,omitempty"`
	// Preview scores the order without learning from it (the storefront's
	// "would this pass?"): the order sent afterwards is scored as if the
	// preview had not happened.
	Preview bool `json:"preview,omitempty"`
}

// ScoreResponse is the answer of fxmatch.assistant.score — the line
// `fxmatch score` writes:
//
//	{"order_id":"o-17","score":0.9997,"action":"block","reasons":["size 6.4× the account's 30-day p95", …]}
//
// action is the assistant's own (its thresholds); the venue's gate applies
// its configured thresholds to score.
type ScoreResponse struct {
	OrderID string   `json:"order_id"`
	Score   float64  `json:"score"`
	Action  string   `json:"action"`
	Reasons []string `json:"reasons"`
}

// RecommendRequest is the body of fxmatch.assistant.recommend.
//
//	{"broker":"BROKER1","symbol":"USD/CNY","qty":"5000000"}
type RecommendRequest struct {
	Broker string `json:"broker"`
	Symbol string `json:"symbol"`
	Qty    Num    `json:"qty"`
}

// Recommendation answers fxmatch.assistant.recommend: a bid and an ask on
// the tick grid for the broker's listing of qty, and why.
type Recommendation struct {
	Broker string `json:"broker"`
	Symbol string `json:"symbol"`
	Qty    string `json:"qty"`
	Bid    string `json:"bid"`
	Ask    string `json:"ask"`
	// Fair is the microprice the quote is centred on; Inventory the
	// broker's position in the base currency from its fills (long
	// positive).
	Fair      string   `json:"fair"`
	Inventory string   `json:"inventory"`
	Rationale []string `json:"rationale"`
	Time      string   `json:"time"`
}

// QuoteTier is one size of a published recommendation.
type QuoteTier struct {
	Qty string `json:"qty"`
	Bid string `json:"bid"`
	Ask string `json:"ask"`
}

// Quotes is what fxmatch.quotes.<BROKER>.<SYM> carries: the recommendation
// for every size tier of the pair, published when the market moves (at
// most QuoteInterval apart per broker and pair). Rationale is the
// smallest tier's.
type Quotes struct {
	Broker    string      `json:"broker"`
	Symbol    string      `json:"symbol"`
	Tiers     []QuoteTier `json:"tiers"`
	Rationale []string    `json:"rationale"`
	Time      string      `json:"time"`
}

// ChatRequest is the body of fxmatch.assistant.chat.
//
//	{"text":"buy 5m usdcny at 7.1020"}
type ChatRequest struct {
	Text string `json:"text"`
}

// ChatResponse answers fxmatch.assistant.chat: the parse (kind order,
// question or clarify, as assistant/chat returns it) and, for a question,
// the answer from the market data the assistant holds. An order is never
// sent: the caller shows order.confirm and sends it only on a yes.
type ChatResponse struct {
	chat.Result
	// Answer is the question's answer in words ("USD/CNY best bid 7.1019
	// for 5,000,000"); Book the levels behind it.
	Answer string     `json:"answer,omitempty"`
	Book   *wire.Book `json:"book,omitempty"`
}

// Alert is what fxmatch.risk.alerts.<PARTY> carries: an order of the
// participant's that pre-trade scoring reviewed or blocked, or could not
// score (action "unscored", the reason saying why).
type Alert struct {
	Participant string   `json:"participant"`
	ClOrdID     string   `json:"cl_ord_id"`
	Symbol      string   `json:"symbol,omitempty"`
	Score       float64  `json:"score"`
	Action      string   `json:"action"` // review | block | unscored
	Reasons     []string `json:"reasons"`
	Time        string   `json:"time"`
}

// Num is a decimal in JSON: a string ("7.1020") or a number. The scorer
// and the recommender read magnitudes, so it is kept as the text and
// converted where it is used.
type Num string

// UnmarshalJSON takes a JSON string or number.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*n = Num(s)
		return nil
	}
	if _, err := strconv.ParseFloat(string(b), 64); err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*n = Num(b)
	return nil
}

// errNum is returned (wrapped) by Num.Float for text that is not a finite
// decimal.
var errNum = errors.New("not a decimal number")

// Float is the number, 0 for an empty one.
func (n Num) Float() (float64, error) {
	if n == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q: %w", string(n), errNum)
	}
	return v, nil
}

// tsFormat is the time format of the payloads the assistant writes.
const tsFormat = time.RFC3339Nano

// AppendJSON appends the request as JSON, leaving out empty fields. The
// venue's gate encodes every order with it: no reflection and, into a
// reused buffer, no allocation.
func (r *ScoreRequest) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	first := true
	field := func(name, v string) {
		if v == "" {
			return
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, `":`...)
		dst = fraud.AppendJSONString(dst, v)
	}
	field("participant", r.Participant)
	field("account", r.Account)
	field("cl_ord_id", r.ClOrdID)
	field("orig_cl_ord_id", r.OrigClOrdID)
	field("symbol", r.Symbol)
	field("side", r.Side)
	field("ord_type", r.OrdType)
	field("tif", r.TIF)
	field("qty", string(r.Qty))
	field("price", string(r.Price))
	field("mid", string(r.Mid))
	field("channel", r.Channel)
	field("source", r.Source)
	field("session", r.Session)
	field("time", r.Time)
	if r.Preview {
		if !first {
			dst = append(dst, ',')
		}
		dst = append(dst, `"preview":true`...)
	}
	return append(dst, '}')
}

// Package chat reads what dealers type — "buy 5m usdcny at 7.1020",
// "sell 10 yards eur/usd 1.0815 ioc", "买入 500万 美元/人民币 7.1020",
// "best bid usdcny" — into a structured order to confirm, a market-data
// question to answer, or a question to ask back.
//
// It is a pure function of the message and the instrument list: no I/O,
// no clock, no state, so the assistant's NATS endpoint and the storefront
// can call it directly and tests can pin every phrasing. It never sends
// anything: a parsed order comes back with a confirmation sentence for
// the dealer, and only the caller, after the dealer says yes, turns it
// into a NewOrderSingle.
//
// The rule is: understand or ask, never guess. A message with a word the
// parser does not know, two sides, two pairs, a size that is not a whole
// number of lots, a price that is not on the tick grid (it is never
// rounded), or a price far from the reference price (a likely typo) gets a
// Clarify with one specific question, in the language of the message.
//
// Sizes: k is a thousand, m/mio/mm/mln/bucks a million, yard/bn a billion,
// 万 ten thousand, 亿 a hundred million; a bare number below 1000 is in
// millions ("bid 3 usd/jpy" is 3,000,000), a bare number of 1000 or more,
// or one written with thousands separators, is in units.
package chat

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"fxmatch/engine"
)

// MaxMessageBytes is the longest message parsed; a longer one gets a
// Clarify. Together with the token bound it keeps the work per message
// small and fixed.
const MaxMessageBytes = 512

// DefaultFarBP is how far from the reference price, in basis points, a
// limit price may be before the parser asks whether it is a typo. Half a
// percent is several days' range in USD/CNY and a large intraday move in
// EUR/USD or USD/JPY, while a transposed digit (7.2010 for 7.1020) is
// well beyond it.
const DefaultFarBP = 50

// Kind is what a message was understood to be.
type Kind uint8

const (
	KindClarify  Kind = iota // a question to ask back; see Result.Clarify
	KindOrder                // an order to show for confirmation; see Result.Order
	KindQuestion             // a market-data question; see Result.Question
)

func (k Kind) String() string {
	switch k {
	case KindOrder:
		return "order"
	case KindQuestion:
		return "question"
	}
	return "clarify"
}

// MarshalText makes Kind a word in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads the word back, so that Go clients of the assistant's
// chat endpoint can decode a Result.
func (k *Kind) UnmarshalText(b []byte) error {
	for _, c := range []Kind{KindClarify, KindOrder, KindQuestion} {
		if string(b) == c.String() {
			*k = c
			return nil
		}
	}
	return fmt.Errorf("chat: unknown kind %q", b)
}

// Result is the parse of one message: exactly one of Order, Question and
// Clarify is set, as Kind says.
type Result struct {
	Kind Kind `json:"kind"`
	// Lang is the language of the message, and of every sentence in the
	// result: "zh" if it has any Chinese in it, else "en".
	Lang     string    `json:"lang"`
	Order    *Order    `json:"order,omitempty"`
	Question *Question `json:"question,omitempty"`
	Clarify  *Clarify  `json:"clarify,omitempty"`
}

// Order is an order as the dealer described it, checked against the
// instrument's rules. It has not been sent: show Confirm to the dealer
// and send only on a yes.
type Order struct {
	Side    engine.Side    `json:"side"`     // FIX Side(54): 1 buy, 2 sell
	Symbol  string         `json:"symbol"`   // "USD/CNY"
	Qty     engine.Qty     `json:"qty"`      // base currency units, exact
	OrdType engine.OrdType `json:"ord_type"` // FIX OrdType(40): 1 market, 2 limit
	// Price is the limit price with the tick's decimal places ("150.120"
	// for a USD/JPY price typed as 150.12); empty for a market order.
	// PriceFixed is the same price in engine units.
	Price      string       `json:"price,omitempty"`
	PriceFixed engine.Price `json:"-"`
	TIF        engine.TIF   `json:"tif"` // FIX TimeInForce(59); market orders are IOC or FOK
	// Confirm is the sentence to show the dealer ("Buy 5,000,000 USD/CNY
	// at 7.1020, Day limit — confirm?").
	Confirm string `json:"confirm"`
}

// QuestionKind is what a market-data question asks for.
type QuestionKind uint8

const (
	BestBid   QuestionKind = iota + 1 // the best bid
	BestOffer                         // the best offer
	Top                               // both: the inside market
	Depth                             // the book, Question.Levels levels deep (0: the default)
)

func (k QuestionKind) String() string {
	switch k {
	case BestBid:
		return "best-bid"
	case BestOffer:
		return "best-offer"
	case Top:
		return "top"
	case Depth:
		return "depth"
	}
	return "question?"
}

// MarshalText makes QuestionKind a word in JSON.
func (k QuestionKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads the word back.
func (k *QuestionKind) UnmarshalText(b []byte) error {
	for c := BestBid; c <= Depth; c++ {
		if string(b) == c.String() {
			*k = c
			return nil
		}
	}
	return fmt.Errorf("chat: unknown question kind %q", b)
}

// Question is a market-data question about one instrument.
type Question struct {
	Kind   QuestionKind `json:"kind"`
	Symbol string       `json:"symbol"`
	Levels int          `json:"levels,omitempty"` // Depth only; 0 means the caller's default
}

// MaxDepthLevels bounds Question.Levels.
const MaxDepthLevels = 50

// Reason names why the parser asks back, for callers that react to some
// of them (a storefront may offer buttons for the sides of a ReasonNoSide).
type Reason uint8

const (
	ReasonEmpty             Reason = iota + 1 // nothing to parse
	ReasonTooLong                             // longer than MaxMessageBytes or too many words
	ReasonUnknownWord                         // a word the parser does not know
	ReasonNegation                            // "not", "don't": the parser will not guess what is negated
	ReasonUnsupported                         // cancel, amend, GTD, iceberg: not a chat order
	ReasonNoSide                              // an order without buy or sell
	ReasonConflictingSide                     // both buy and sell words
	ReasonNoPair                              // no currency pair
	ReasonOneCurrency                         // a currency but not a pair
	ReasonConflictingPair                     // two different pairs
	ReasonUnknownPair                         // a pair this venue does not list
	ReasonInvertedPair                        // CNY/USD for a venue that lists USD/CNY
	ReasonOrderOrQuestion                     // could be an order or a market-data question
	ReasonAmbiguousQuestion                   // "best buy price": the bid or the offer?
	ReasonNoSize                              // an order without a size
	ReasonConflictingSize                     // two sizes
	ReasonBadSize                             // not a whole number of lots, below the minimum or above the maximum
	ReasonAmbiguousNumber                     // a number that could be the size or the price
	ReasonExtraNumber                         // a number the parser cannot place
	ReasonBadNumber                           // 1,5 or too many digits
	ReasonNoPrice                             // a limit order without a price
	ReasonConflictingPrice                    // two prices
	ReasonOffTick                             // a price that is not a multiple of the tick
	ReasonOutsideBand                         // a price the venue would reject: outside the band
	ReasonFarFromReference                    // a price far from the reference: a typo? Clarify.Pending holds the order
	ReasonConflictingType                     // market with a limit price, market and limit, bid at market
	ReasonConflictingTIF                      // two times in force, or Day/GTC on a market order
)

var reasonNames = [...]string{
	ReasonEmpty: "empty", ReasonTooLong: "too-long", ReasonUnknownWord: "unknown-word",
	ReasonNegation: "negation", ReasonUnsupported: "unsupported", ReasonNoSide: "no-side",
	ReasonConflictingSide: "conflicting-side", ReasonNoPair: "no-pair",
	ReasonOneCurrency: "one-currency", ReasonConflictingPair: "conflicting-pair",
	ReasonUnknownPair: "unknown-pair", ReasonInvertedPair: "inverted-pair",
	ReasonOrderOrQuestion: "order-or-question", ReasonAmbiguousQuestion: "ambiguous-question",
	ReasonNoSize: "no-size", ReasonConflictingSize: "conflicting-size", ReasonBadSize: "bad-size",
	ReasonAmbiguousNumber: "ambiguous-number", ReasonExtraNumber: "extra-number",
	ReasonBadNumber: "bad-number", ReasonNoPrice: "no-price",
	ReasonConflictingPrice: "conflicting-price", ReasonOffTick: "off-tick",
	ReasonOutsideBand: "outside-band", ReasonFarFromReference: "far-from-reference",
	ReasonConflictingType: "conflicting-type", ReasonConflictingTIF: "conflicting-tif",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText makes Reason a word in JSON.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads the word back.
func (r *Reason) UnmarshalText(b []byte) error {
	for i, name := range reasonNames {
		if name != "" && string(b) == name {
			*r = Reason(i)
			return nil
		}
	}
	return fmt.Errorf("chat: unknown reason %q", b)
}

// Clarify is a question to ask the dealer back.
type Clarify struct {
	Reason   Reason `json:"reason"`
	Question string `json:"question"`
	// Pending is the complete order the message describes when the only
	// doubt is whether the dealer meant it (ReasonFarFromReference): on a
	// yes, the caller may show Pending.Confirm. Nil otherwise.
	Pending *Order `json:"pending,omitempty"`
}

// Parser parses messages against a set of instruments. The zero value
// knows no instruments; a Parser is not changed by Parse and may be used
// from many goroutines. Build a new one (it is cheap) when reference
// prices move.
type Parser struct {
	// Instruments are the venue's instruments: symbol, tick, lot, minimum
	// and maximum quantity, reference price and band. The reference price
	// should be the current one (the last trade), since prices far from it
	// are questioned.
	Instruments []engine.Instrument
	// FarBP is the distance from the reference price, in basis points,
	// beyond which a price is questioned as a possible typo. Zero means
	// DefaultFarBP; negative turns the check off.
	FarBP int64
}

// Parse is Parser{Instruments: instruments}.Parse(msg).
func Parse(msg string, instruments []engine.Instrument) Result {
	return (&Parser{Instruments: instruments}).Parse(msg)
}

// Parse reads one message.
func (p *Parser) Parse(msg string) Result {
	st := state{p: p, zh: hasHan(msg)}
	if len(msg) > MaxMessageBytes {
		return st.ask(ReasonTooLong,
			fmt.Sprintf("That message is too long for me (over %d bytes). Please send one order or question at a time.", MaxMessageBytes),
			"消息太长了，请每次只发送一笔订单或一个问题。")
	}
	toks, ok := lex(msg)
	if !ok {
		return st.ask(ReasonTooLong,
			"That is too many words for one order. Please send one order or question at a time.",
			"内容太多了，请每次只发送一笔订单或一个问题。")
	}
	st.toks = toks
	return st.parse()
}

// state is one parse in progress.
type state struct {
	p    *Parser
	zh   bool
	toks []token
	inst *engine.Instrument
}

func (st *state) lang() string {
	if st.zh {
		return "zh"
	}
	return "en"
}

func (st *state) ask(r Reason, en, zh string) Result {
	q := en
	if st.zh {
		q = zh
	}
	return Result{Kind: KindClarify, Lang: st.lang(), Clarify: &Clarify{Reason: r, Question: q}}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x2E80 && unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// role is what a number turned out to be.
type role uint8

const (
	roleNone role = iota
	roleSize
	rolePrice
	roleLevels
)

// numRef is a number in the message with what we know about its role.
type numRef struct {
	tok    token
	pow    int // unit multiplier's power of ten; -1 without a unit
	unit   string
	pricey bool // preceded by a price marker (at, @, limit, price)
	role   role
}

func (st *state) parse() Result {
	var (
		sides                        []token
		tifs                         []token
		market, limit, priceWord     []token
		best, depth, qword           []token
		ccys, pairs                  []token
		nums                         []numRef
		unknown, negation, unsupport []token
	)
	toks := st.toks
	if len(toks) == 0 {
		return st.ask(ReasonEmpty,
			"What would you like to do? For example: buy 5m usdcny at 7.1020, or best bid usdcny.",
			"请问要做什么？例如：买入 500万 美元/人民币 7.1020，或 最优买价 美元人民币。")
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case kNumber:
			n := numRef{tok: t, pow: -1}
			if i > 0 {
				switch toks[i-1].kind {
				case kAt, kLimit, kPriceWord:
					n.pricey = true
				}
			}
			if i+1 < len(toks) && toks[i+1].kind == kUnit {
				n.pow, n.unit = toks[i+1].pow, toks[i+1].text
				i++
			}
			nums = append(nums, n)
		case kUnit:
			// A unit with no number before it: 百万美元 is a million; "m"
			// alone means nothing.
			if t.pow >= 4 && hasHan(t.text) {
				nums = append(nums, numRef{tok: token{kind: kNumber, text: t.text, num: number{mant: 1}}, pow: t.pow, unit: t.text})
			} else {
				unknown = append(unknown, t)
			}
		case kSide:
			sides = append(sides, t)
		case kTIF:
			tifs = append(tifs, t)
		case kMarket:
			market = append(market, t)
		case kLimit:
			limit = append(limit, t)
		case kPriceWord:
			priceWord = append(priceWord, t)
		case kBest:
			best = append(best, t)
		case kDepth:
			depth = append(depth, t)
		case kQWord:
			qword = append(qword, t)
		case kCurrency:
			ccys = append(ccys, t)
		case kPair:
			pairs = append(pairs, t)
		case kNegation:
			negation = append(negation, t)
		case kUnsupported:
			unsupport = append(unsupport, t)
		case kUnknown:
			unknown = append(unknown, t)
		case kAt, kSep, kFiller:
		}
	}

	// Words we do not understand come first: an order built around an
	// unknown word might not be the order the dealer meant.
	if len(unknown) > 0 {
		w := unknown[0].text
		return st.ask(ReasonUnknownWord,
			fmt.Sprintf("I don't understand %q. I read orders like \"buy 5m usdcny at 7.1020\" and questions like \"best bid usdcny\" — could you rephrase?", w),
			fmt.Sprintf("我不明白“%s”是什么意思。我能读懂“买入 500万 美元/人民币 7.1020”这样的订单和“最优买价 美元人民币”这样的问题，请换个说法。", w))
	}
	if len(negation) > 0 {
		w := negation[0].text
		return st.ask(ReasonNegation,
			fmt.Sprintf("You wrote %q — I won't guess what it negates. Please say plainly what you want to do.", w),
			fmt.Sprintf("您写了“%s”，我不猜它否定的是什么。请直接说明要做什么。", w))
	}
	if len(unsupport) > 0 {
		w := unsupport[0].text
		return st.ask(ReasonUnsupported,
			fmt.Sprintf("Chat orders can't %q: they are new Day, GTC, IOC or FOK orders only, limit or market. Use your order screen or FIX for that.", w),
			fmt.Sprintf("聊天下单不支持“%s”：只能下新的限价或市价单（当日有效、撤销前有效、IOC 或 FOK）。请使用交易界面或 FIX。", w))
	}

	if r, ok := st.findInstrument(ccys, pairs); !ok {
		return r
	}

	// Order or question? Sizes, prices, times in force and order types
	// make an order; best, depth, what and ? make a question.
	hasOrderWords := len(nums) > 0 || len(tifs) > 0 || len(market) > 0 || len(limit) > 0
	hasQuestionWords := len(best) > 0 || len(depth) > 0 || len(qword) > 0
	if len(depth) > 0 && len(nums) == 1 && nums[0].pow < 0 && !nums[0].pricey && len(tifs)+len(market)+len(limit) == 0 {
		// "depth 5 eurusd": the number is how many levels.
		n := nums[0].tok.num
		if !n.bad && !n.hasPoint && !n.grouped && n.mant >= 1 && n.mant <= MaxDepthLevels {
			nums[0].role = roleLevels
			hasOrderWords = false
		}
	}
	if hasQuestionWords && hasOrderWords {
		// A trailing "?" on a complete order is a dealer's habit, not a
		// question; the order is shown back for confirmation anyway.
		if len(best) == 0 && len(depth) == 0 && allText(qword, "?") {
			hasQuestionWords = false
		} else {
			return st.ask(ReasonOrderOrQuestion,
				"Is that an order or a question about the market? For an order write e.g. \"buy 5m usdcny at 7.1020\"; for a question, \"best bid usdcny\" or \"depth usdcny\".",
				"这是订单还是行情查询？下单请写如“买入 500万 美元/人民币 7.1020”；查询请写如“最优买价 美元人民币”或“深度 美元人民币”。")
		}
	}
	if !hasOrderWords && (hasQuestionWords || len(priceWord) > 0 || len(sides) == 0) {
		return st.question(sides, best, depth, qword, priceWord, nums)
	}
	if !hasOrderWords && len(sides) > 0 {
		// "bid usdcny": a bid to place, or the bid to look up?
		s := sides[0].text
		return st.ask(ReasonOrderOrQuestion,
			fmt.Sprintf("Do you want to see the market (\"best %s %s\") or place an order? For an order, add the size and price, e.g. \"%s 5m %s at %s\".", sideNoun(sides[0]), strings.ToLower(st.sym()), s, strings.ToLower(st.sym()), st.refText()),
			fmt.Sprintf("您是要查看行情（如“最优%s %s”）还是下单？下单请加上金额和价格，例如“%s 500万 %s %s”。", sideNounZh(sides[0]), st.symZh(), s, st.symZh(), st.refText()))
	}
	return st.order(sides, tifs, market, limit, nums)
}

func allText(ts []token, s string) bool {
	for _, t := range ts {
		if t.text != s {
			return false
		}
	}
	return true
}

func sideNoun(t token) string {
	if t.side == engine.Buy {
		return "bid"
	}
	return "offer"
}

func sideNounZh(t token) string {
	if t.side == engine.Buy {
		return "买价"
	}
	return "卖价"
}

// findInstrument settles which instrument the message is about. Every
// currency mentioned must belong to one pair, written as one word
// (usdcny), with a separator (usd/cny, 欧元兑美元) or side by side
// (美元人民币); a lone currency equal to one of the pair's is the
// currency of the size ("5m usd").
func (st *state) findInstrument(ccys, pairs []token) (Result, bool) {
	var base, term string
	for _, p := range pairs {
		if base == "" {
			base, term = p.ccy, p.ccy2
		} else if p.ccy != base || p.ccy2 != term {
			return st.conflictingPairs(base+"/"+term, p.ccy+"/"+p.ccy2), false
		}
	}
	if base == "" {
		var distinct []string
		for _, c := range ccys {
			if !contains(distinct, c.ccy) {
				distinct = append(distinct, c.ccy)
			}
		}
		switch len(distinct) {
		case 0:
			return st.ask(ReasonNoPair,
				fmt.Sprintf("Which currency pair? This venue trades %s.", st.symbols()),
				fmt.Sprintf("请问是哪个货币对？本平台交易 %s。", st.symbols())), false
		case 1:
			var with []string
			for i := range st.p.Instruments {
				in := &st.p.Instruments[i]
				if b, t := baseTerm(in); b == distinct[0] || t == distinct[0] {
					with = append(with, in.Symbol)
				}
			}
			list := st.symbols()
			if len(with) > 0 {
				list = strings.Join(with, ", ")
			}
			return st.ask(ReasonOneCurrency,
				fmt.Sprintf("%s against which currency? Pairs with %s here: %s. (Buying %s in a pair where it is the second currency means selling that pair.)", distinct[0], distinct[0], list, distinct[0]),
				fmt.Sprintf("%s 兑哪种货币？这里含 %s 的货币对：%s。（买入作为报价货币的 %s，等于卖出该货币对。）", ccyZh(distinct[0]), ccyZh(distinct[0]), list, ccyZh(distinct[0]))), false
		case 2:
			base, term = distinct[0], distinct[1]
		default:
			return st.conflictingPairs(distinct[0]+"/"+distinct[1], strings.Join(distinct[2:], "/")), false
		}
	} else {
		for _, c := range ccys {
			if c.ccy != base && c.ccy != term {
				return st.conflictingPairs(base+"/"+term, c.ccy), false
			}
		}
	}
	for i := range st.p.Instruments {
		in := &st.p.Instruments[i]
		if b, t := baseTerm(in); b == base && t == term {
			st.inst = in
			if in.Base == "" || in.Term == "" {
				// An instrument list built without the currencies: the
				// sentences need them.
				c := *in
				c.Base, c.Term = b, t
				st.inst = &c
			}
			return Result{}, true
		}
	}
	for i := range st.p.Instruments {
		in := &st.p.Instruments[i]
		if b, t := baseTerm(in); b == term && t == base {
			return st.ask(ReasonInvertedPair,
				fmt.Sprintf("This venue quotes %s, not %s/%s: prices are %s per %s and sizes are in %s. Could you restate the order in %s terms?", in.Symbol, base, term, term, base, term, in.Symbol),
				fmt.Sprintf("本平台报价的是 %s，不是 %s/%s：价格为每 1 %s 兑多少 %s，金额以 %s 计。请按 %s 重新表述。", in.Symbol, base, term, ccyZh(term), ccyZh(base), ccyZh(term), in.Symbol)), false
		}
	}
	return st.ask(ReasonUnknownPair,
		fmt.Sprintf("%s/%s isn't traded here. This venue trades %s — which one did you mean?", base, term, st.symbols()),
		fmt.Sprintf("本平台不交易 %s/%s。可交易的货币对：%s，请问是哪一个？", base, term, st.symbols())), false
}

// baseTerm is the instrument's currencies, from the symbol if the
// instrument does not say.
func baseTerm(in *engine.Instrument) (string, string) {
	if in.Base != "" && in.Term != "" {
		return in.Base, in.Term
	}
	b, t, _ := strings.Cut(in.Symbol, "/")
	return strings.ToUpper(b), strings.ToUpper(t)
}

func (st *state) conflictingPairs(a, b string) Result {
	return st.ask(ReasonConflictingPair,
		fmt.Sprintf("You mentioned both %s and %s — which pair?", a, b),
		fmt.Sprintf("您同时提到了 %s 和 %s，请问是哪个货币对？", a, b))
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (st *state) symbols() string {
	if len(st.p.Instruments) == 0 {
		return "no instruments at the moment"
	}
	var b strings.Builder
	for i := range st.p.Instruments {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(st.p.Instruments[i].Symbol)
	}
	return b.String()
}

func (st *state) sym() string { return st.inst.Symbol }

func (st *state) symZh() string { return ccyZh(st.inst.Base) + "/" + ccyZh(st.inst.Term) }

// refText is the reference price for examples, or a made-up one.
func (st *state) refText() string {
	if st.inst.RefPrice > 0 {
		return st.fmtPrice(st.inst.RefPrice)
	}
	return "1.2345"
}

func (st *state) fmtPrice(p engine.Price) string {
	return engine.FormatPrice(p, engine.TickDecimals(st.inst.Tick))
}

var zhNames = map[string]string{
	"USD": "美元", "CNY": "人民币", "EUR": "欧元", "JPY": "日元", "GBP": "英镑", "HKD": "港元",
	"AUD": "澳元", "CAD": "加元", "CHF": "瑞郎", "NZD": "新西兰元", "SGD": "新加坡元", "CNH": "离岸人民币",
}

func ccyZh(c string) string {
	if n, ok := zhNames[c]; ok {
		return n
	}
	return c
}

// question builds a market-data question.
func (st *state) question(sides, best, depth, qword, priceWord []token, nums []numRef) Result {
	q := &Question{Symbol: st.inst.Symbol}
	for _, n := range nums {
		if n.role == roleLevels {
			q.Levels = int(n.tok.num.mant)
		}
	}
	var want engine.Side
	for _, s := range sides {
		if !s.quote {
			// "best buy price": the best price to buy at is the offer,
			// but many mean the best buyer, the bid.
			return st.ask(ReasonAmbiguousQuestion,
				fmt.Sprintf("Do you mean the best bid (the highest price someone pays for %s) or the best offer (the lowest price you can buy at)?", st.inst.Base),
				fmt.Sprintf("您是指最优买价（买方愿付的最高价），还是最优卖价（您能买到的最低价）？"))
		}
		if want != 0 && want != s.side {
			want = 0
			break
		}
		want = s.side
	}
	switch {
	case len(depth) > 0:
		q.Kind = Depth
	case want == engine.Buy:
		q.Kind = BestBid
	case want == engine.Sell:
		q.Kind = BestOffer
	default:
		q.Kind = Top
	}
	return Result{Kind: KindQuestion, Lang: st.lang(), Question: q}
}

package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"fxmatch/engine"
)

// The lexer turns a message into at most maxTokens tokens. It folds
// full-width forms (what a Chinese input method types: ５００万, ／, ＠)
// to ASCII, lower-cases Latin letters and drops apostrophes, then scans:
// runs of digits (with ',' and '.' inside) are numbers, runs of Latin
// letters are words, Han text is cut by longest match against the Chinese
// lexicon (or read as a Chinese numeral: 五百万), and '/', '@' and '?' are
// tokens of their own. Everything the lexicon does not know becomes an
// unknown token, so that the parser can ask about it instead of skipping
// it: skipping a word the parser does not understand ("not", "tomorrow")
// could turn a message into an order the dealer did not mean.

// kind is what a token means to the parser.
type kind uint8

const (
	kUnknown     kind = iota
	kNumber           // a number; see token.num
	kUnit             // a size multiplier word (m, yards, 万); val is the power of ten
	kSide             // buy or sell; side, and quote for bid/offer words
	kTIF              // time in force; tif
	kMarket           // market order (market, mkt, 市价)
	kLimit            // limit order (limit, 限价); a following number is the price
	kAt               // the next number is the price (at, @, 价)
	kPriceWord        // "price", "quote", 报价: a price marker before a number, else a question
	kBest             // best, top, 最优
	kDepth            // depth, book, 深度
	kQWord            // what, show, ?, 吗: marks a question
	kCurrency         // a currency; ccy
	kPair             // a pair in one word (usdcny, fiber); ccy and ccy2
	kSep              // between two currencies: / - vs 兑
	kFiller           // please, I, want, 请, 我要: carries no meaning here
	kNegation         // not, don't, 不
	kUnsupported      // cancel, amend, gtd, iceberg: not something chat orders do
)

// token is one lexeme of a message. text is what the dealer wrote (after
// folding), for quoting it back in a question.
type token struct {
	kind  kind
	text  string
	side  engine.Side
	quote bool // a bid/offer word: implies a limit order, or the side of a quote question
	tif   engine.TIF
	ccy   string // kCurrency, or the base of kPair
	ccy2  string // the term currency of kPair
	num   number // kNumber
	pow   int    // kUnit: the multiplier is 10^pow
}

// number is an exact non-negative decimal: mant / 10^scale, as written.
// A Chinese numeral arrives with its value in mant and sized set, since it
// carries its own multiplier (五百万 is 5,000,000, not 5 million millions).
type number struct {
	mant     uint64
	scale    int  // digits after the decimal point
	grouped  bool // written with thousands separators: 5,000,000
	hasPoint bool
	sized    bool // a Chinese numeral with 万 or 亿 in it: a quantity in units
	bad      bool // not a well-formed number (1,5 or too many digits)
}

// maxDigits bounds a number's significant digits so that every value and
// product the parser forms stays within int64 (10^18 < 2^63).
const maxDigits = 18

// lexeme is a lexicon entry; some entries stand for two tokens
// (买一价 is "best" and "bid").
type lexeme struct {
	kind  kind
	side  engine.Side
	quote bool
	tif   engine.TIF
	ccy   string
	ccy2  string
	pow   int
	then  *lexeme
}

var (
	buyWord   = lexeme{kind: kSide, side: engine.Buy}
	sellWord  = lexeme{kind: kSide, side: engine.Sell}
	bidWord   = lexeme{kind: kSide, side: engine.Buy, quote: true}
	offerWord = lexeme{kind: kSide, side: engine.Sell, quote: true}
	bestWord  = lexeme{kind: kBest}
	bestBid   = lexeme{kind: kBest, then: &bidWord}
	bestOffer = lexeme{kind: kBest, then: &offerWord}
)

func ccyWord(code string) lexeme { return lexeme{kind: kCurrency, ccy: code} }
func pairWord(base, term string) lexeme {
	return lexeme{kind: kPair, ccy: base, ccy2: term}
}
func unitWord(pow int) lexeme { return lexeme{kind: kUnit, pow: pow} }
func tifWord(t engine.TIF) lexeme {
	return lexeme{kind: kTIF, tif: t}
}
func just(k kind) lexeme { return lexeme{kind: k} }

// isoCodes are the currency codes the parser recognises as currencies, so
// that "gbpusd" or "usd/cnh" is answered as a pair this venue does not
// list rather than as a word it does not know. Codes that are also common
// English words (TRY, ALL, TOP) are left out on purpose.
var isoCodes = []string{
	"usd", "eur", "jpy", "cny", "cnh", "gbp", "aud", "nzd", "cad", "chf", "hkd", "sgd",
	"sek", "nok", "dkk", "krw", "inr", "mxn", "zar", "rub", "brl", "pln", "huf", "czk",
	"thb", "twd", "idr", "myr", "php", "ils", "sar", "aed", "xau", "xag",
}

// words is the English (Latin-script) lexicon, after lower-casing and with
// apostrophes removed ("don't" is "dont").
var words = map[string]lexeme{
	// Sides. Dealer slang: "mine" is I buy, "yours" is I sell; paying or
	// lifting the offer buys, hitting or giving the bid sells.
	"buy": buyWord, "buying": buyWord, "buys": buyWord, "purchase": buyWord,
	"mine": buyWord, "pay": buyWord, "lift": buyWord, "take": buyWord,
	"sell": sellWord, "selling": sellWord, "sells": sellWord,
	"yours": sellWord, "hit": sellWord, "give": sellWord,
	"bid": bidWord, "bids": bidWord, "bidding": bidWord,
	"offer": offerWord, "offers": offerWord, "offered": offerWord, "offering": offerWord,
	"ask": offerWord, "asks": offerWord, "asking": offerWord,

	"day": tifWord(engine.Day), "gfd": tifWord(engine.Day), "today": tifWord(engine.Day),
	"gtc": tifWord(engine.GTC), "ioc": tifWord(engine.IOC), "fok": tifWord(engine.FOK),

	"market": just(kMarket), "mkt": just(kMarket),
	"limit": just(kLimit), "lmt": just(kLimit), "lim": just(kLimit),
	"at": just(kAt), "px": just(kAt),
	"price": just(kPriceWord), "quote": just(kPriceWord), "rate": just(kPriceWord),
	"best": bestWord, "top": bestWord, "inside": bestWord,
	"depth": just(kDepth), "book": just(kDepth), "ladder": just(kDepth), "levels": just(kDepth),
	"what": just(kQWord), "whats": just(kQWord), "where": just(kQWord), "wheres": just(kQWord),
	"show": just(kQWord), "tell": just(kQWord), "how": just(kQWord), "hows": just(kQWord),
	"check": just(kQWord), "see": just(kQWord), "display": just(kQWord), "get": just(kQWord),

	"k": unitWord(3), "thousand": unitWord(3), "thousands": unitWord(3),
	"m": unitWord(6), "mm": unitWord(6), "mio": unitWord(6), "mios": unitWord(6),
	"mil": unitWord(6), "mill": unitWord(6), "mln": unitWord(6), "mn": unitWord(6),
	"million": unitWord(6), "millions": unitWord(6), "buck": unitWord(6), "bucks": unitWord(6),
	"yard": unitWord(9), "yards": unitWord(9), "yd": unitWord(9), "yds": unitWord(9),
	"bn": unitWord(9), "bio": unitWord(9), "billion": unitWord(9), "billions": unitWord(9),

	"dollar": ccyWord("USD"), "dollars": ccyWord("USD"), "greenback": ccyWord("USD"),
	"euro": ccyWord("EUR"), "euros": ccyWord("EUR"), "yen": ccyWord("JPY"),
	"yuan": ccyWord("CNY"), "rmb": ccyWord("CNY"), "renminbi": ccyWord("CNY"),
	"sterling": ccyWord("GBP"), "pound": ccyWord("GBP"), "pounds": ccyWord("GBP"),
	"fiber": pairWord("EUR", "USD"), "fibre": pairWord("EUR", "USD"),
	"cable": pairWord("GBP", "USD"), "aussie": pairWord("AUD", "USD"),
	"kiwi": pairWord("NZD", "USD"), "loonie": pairWord("USD", "CAD"),
	"swissy": pairWord("USD", "CHF"),

	"vs": just(kSep), "versus": just(kSep), "against": just(kSep),

	"please": just(kFiller), "pls": just(kFiller), "plz": just(kFiller), "kindly": just(kFiller),
	"i": just(kFiller), "id": just(kFiller), "im": just(kFiller), "ill": just(kFiller),
	"we": just(kFiller), "wed": just(kFiller), "want": just(kFiller), "wanna": just(kFiller),
	"would": just(kFiller), "like": just(kFiller), "to": just(kFiller), "can": just(kFiller),
	"could": just(kFiller), "you": just(kFiller), "u": just(kFiller), "for": just(kFiller),
	"me": just(kFiller), "my": just(kFiller), "of": just(kFiller), "the": just(kFiller),
	"a": just(kFiller), "an": just(kFiller), "and": just(kFiller), "now": just(kFiller),
	"thanks": just(kFiller), "thx": just(kFiller), "ty": just(kFiller), "ok": just(kFiller),
	"okay": just(kFiller), "hi": just(kFiller), "hello": just(kFiller), "hey": just(kFiller),
	"lets": just(kFiller), "let": just(kFiller), "us": just(kFiller), "need": just(kFiller),
	"is": just(kFiller), "in": just(kFiller), "on": just(kFiller), "it": just(kFiller),
	"some": just(kFiller), "will": just(kFiller), "do": just(kFiller), "order": just(kFiller),

	"not": just(kNegation), "dont": just(kNegation), "no": just(kNegation),
	"never": just(kNegation), "cant": just(kNegation), "wont": just(kNegation),

	"cancel": just(kUnsupported), "cxl": just(kUnsupported), "replace": just(kUnsupported),
	"amend": just(kUnsupported), "modify": just(kUnsupported), "change": just(kUnsupported),
	"gtd": just(kUnsupported), "iceberg": just(kUnsupported), "stop": just(kUnsupported),
	"post": just(kUnsupported),
}

// phrases are multi-word English lexemes, matched before single words.
var phrases = []struct {
	words []string
	lex   lexeme
}{
	{[]string{"good", "till", "cancelled"}, tifWord(engine.GTC)},
	{[]string{"good", "till", "canceled"}, tifWord(engine.GTC)},
	{[]string{"good", "till", "cancel"}, tifWord(engine.GTC)},
	{[]string{"good", "til", "cancelled"}, tifWord(engine.GTC)},
	{[]string{"good", "until", "cancelled"}, tifWord(engine.GTC)},
	{[]string{"good", "for", "day"}, tifWord(engine.Day)},
	{[]string{"good", "for", "the", "day"}, tifWord(engine.Day)},
	{[]string{"immediate", "or", "cancel"}, tifWord(engine.IOC)},
	{[]string{"fill", "or", "kill"}, tifWord(engine.FOK)},
	{[]string{"at", "market"}, just(kMarket)},
	{[]string{"at", "best"}, just(kMarket)},
	{[]string{"order", "book"}, just(kDepth)},
}

// han is the Chinese lexicon, matched longest first.
var han = map[string]lexeme{
	"买入": buyWord, "买进": buyWord, "购买": buyWord, "买": buyWord, "购入": buyWord,
	"卖出": sellWord, "出售": sellWord, "卖": sellWord, "沽": sellWord, "沽出": sellWord,
	"买价": bidWord, "出价": bidWord, "卖价": offerWord, "要价": offerWord,
	"买一价": bestBid, "买一": bestBid, "卖一价": bestOffer, "卖一": bestOffer,
	"最优": bestWord, "最佳": bestWord, "最好": bestWord,
	"深度": just(kDepth), "盘口": just(kDepth), "订单簿": just(kDepth), "挂单": just(kDepth),
	"报价": just(kPriceWord), "价格": just(kPriceWord), "价位": just(kPriceWord), "汇率": just(kPriceWord),
	"价":  just(kAt),
	"查询": just(kQWord), "查": just(kQWord), "看看": just(kQWord), "看": just(kQWord),
	"多少": just(kQWord), "是多少": just(kQWord), "什么": just(kQWord), "吗": just(kQWord),
	"市价": just(kMarket), "市价单": just(kMarket), "限价": just(kLimit), "限价单": just(kLimit),
	"当日有效": tifWord(engine.Day), "当天有效": tifWord(engine.Day), "日内有效": tifWord(engine.Day),
	"撤销前有效": tifWord(engine.GTC), "撤单前有效": tifWord(engine.GTC),
	"长期有效": tifWord(engine.GTC), "一直有效": tifWord(engine.GTC),
	"即时成交剩余撤销": tifWord(engine.IOC), "立即成交否则取消": tifWord(engine.IOC),
	"即时或取消":    tifWord(engine.IOC),
	"全部成交否则撤销": tifWord(engine.FOK), "全额成交或撤销": tifWord(engine.FOK),
	"全部成交或撤销": tifWord(engine.FOK),
	"美元":      ccyWord("USD"), "美金": ccyWord("USD"), "人民币": ccyWord("CNY"),
	"离岸人民币": ccyWord("CNH"), "欧元": ccyWord("EUR"), "日元": ccyWord("JPY"),
	"日圆": ccyWord("JPY"), "英镑": ccyWord("GBP"), "港元": ccyWord("HKD"), "港币": ccyWord("HKD"),
	"澳元": ccyWord("AUD"), "加元": ccyWord("CAD"), "瑞郎": ccyWord("CHF"),
	"新西兰元": ccyWord("NZD"), "纽元": ccyWord("NZD"), "新加坡元": ccyWord("SGD"), "新元": ccyWord("SGD"),
	"兑": just(kSep), "兌": just(kSep), "对": just(kSep),
	"请": just(kFiller), "我": just(kFiller), "我要": just(kFiller), "我想": just(kFiller),
	"想": just(kFiller), "要": just(kFiller), "帮我": just(kFiller), "帮": just(kFiller),
	"一下": just(kFiller), "的": just(kFiller), "谢谢": just(kFiller), "个": just(kFiller),
	"在": just(kFiller), "以": just(kFiller), "按": just(kFiller), "按照": just(kFiller),
	"您好": just(kFiller), "你好": just(kFiller), "麻烦": just(kFiller), "笔": just(kFiller),
	"是": just(kFiller), "呢": just(kFiller), "了": just(kFiller), "给": just(kFiller),
	"下单": just(kFiller), "单": just(kFiller),
	"不": just(kNegation), "别": just(kNegation), "不要": just(kNegation), "勿": just(kNegation),
	"撤单": just(kUnsupported), "撤销": just(kUnsupported), "取消": just(kUnsupported),
	"改单": just(kUnsupported), "修改": just(kUnsupported), "冰山": just(kUnsupported),
}

// hanMaxRunes is the longest entry of han, in runes.
var hanMaxRunes = func() int {
	m := 0
	for w := range han {
		m = max(m, utf8.RuneCountInString(w))
	}
	return m
}()

func init() {
	for _, c := range isoCodes {
		if _, ok := words[c]; !ok {
			words[c] = ccyWord(strings.ToUpper(c))
		}
	}
}

// isCode reports whether w is one of isoCodes.
func isCode(w string) bool {
	for _, c := range isoCodes {
		if w == c {
			return true
		}
	}
	return false
}

// fold maps what an input method types to ASCII where ASCII means the
// same: full-width forms (U+FF01–U+FF5E) to their ASCII twins, the
// ideographic space and CJK punctuation to spaces or their ASCII meaning.
// Latin letters are lower-cased and apostrophes dropped.
func fold(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		r -= 0xFEE0
	case r == 0x3000:
		return ' '
	case r == '。' || r == '、' || r == '；' || r == '：' || r == '！' || r == '“' || r == '”' ||
		r == '（' || r == '）' || r == '《' || r == '》' || r == '【' || r == '】':
		return ' '
	case r == '’' || r == '‘':
		return '\''
	}
	if r >= 'A' && r <= 'Z' {
		r += 'a' - 'A'
	}
	return r
}

// hanDigit is the value of a Chinese numeral digit, or -1.
func hanDigit(r rune) int {
	switch r {
	case '零', '〇':
		return 0
	case '一':
		return 1
	case '二', '两':
		return 2
	case '三':
		return 3
	case '四':
		return 4
	case '五':
		return 5
	case '六':
		return 6
	case '七':
		return 7
	case '八':
		return 8
	case '九':
		return 9
	}
	return -1
}

// hanUnit is the power of ten of a Chinese numeral unit, or 0.
func hanUnit(r rune) int {
	switch r {
	case '十':
		return 1
	case '百':
		return 2
	case '千':
		return 3
	case '万':
		return 4
	case '亿':
		return 8
	}
	return 0
}

// maxTokens bounds the work per message (see MaxMessageBytes).
const maxTokens = 48

// lex splits a folded message into tokens. It returns false if there are
// more than maxTokens.
func lex(s string) ([]token, bool) {
	var out []token
	add := func(t token) bool {
		if len(out) == maxTokens {
			return false
		}
		out = append(out, t)
		return true
	}
	rs := []rune(s)
	for i := range rs {
		rs[i] = fold(rs[i])
	}
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case r == '\'':
			i++
			continue
		case r == '@':
			if !add(token{kind: kAt, text: "@"}) {
				return nil, false
			}
			i++
		case r == '?':
			if !add(token{kind: kQWord, text: "?"}) {
				return nil, false
			}
			i++
		case r == '/' || r == '-':
			if !add(token{kind: kSep, text: string(r)}) {
				return nil, false
			}
			i++
		case r >= '0' && r <= '9' || r == '.' && i+1 < len(rs) && rs[i+1] >= '0' && rs[i+1] <= '9':
			j := i
			for j < len(rs) && (rs[j] >= '0' && rs[j] <= '9' ||
				(rs[j] == '.' || rs[j] == ',') && j+1 < len(rs) && rs[j+1] >= '0' && rs[j+1] <= '9') {
				j++
			}
			text := string(rs[i:j])
			if !add(token{kind: kNumber, text: text, num: parseNumber(text)}) {
				return nil, false
			}
			i = j
		case r >= 'a' && r <= 'z':
			j := i
			for j < len(rs) && (rs[j] >= 'a' && rs[j] <= 'z' || rs[j] == '\'') {
				j++
			}
			w := strings.ReplaceAll(string(rs[i:j]), "'", "")
			if !add(wordToken(w)) {
				return nil, false
			}
			i = j
		case unicode.Is(unicode.Han, r) || r == '〇':
			n, t := hanToken(rs[i:])
			if !add(t) {
				return nil, false
			}
			i += n
		case unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsControl(r) || r == '+' || r == '=':
			// '.' ',' ';' '!' and the like end a word; they mean nothing
			// on their own.
			i++
		default:
			j := i + 1
			for j < len(rs) && !unicode.IsSpace(rs[j]) && !unicode.Is(unicode.Han, rs[j]) &&
				!(rs[j] < utf8.RuneSelf) {
				j++
			}
			if !add(token{kind: kUnknown, text: string(rs[i:j])}) {
				return nil, false
			}
			i = j
		}
	}
	return joinPhrases(out), true
}

// wordToken classifies one Latin word.
func wordToken(w string) token {
	if lx, ok := words[w]; ok {
		return fromLexeme(lx, w)
	}
	if len(w) == 6 && isCode(w[:3]) && isCode(w[3:]) {
		return token{kind: kPair, text: w, ccy: strings.ToUpper(w[:3]), ccy2: strings.ToUpper(w[3:])}
	}
	return token{kind: kUnknown, text: w}
}

func fromLexeme(lx lexeme, text string) token {
	return token{kind: lx.kind, text: text, side: lx.side, quote: lx.quote, tif: lx.tif,
		ccy: lx.ccy, ccy2: lx.ccy2, pow: lx.pow}
}

// hanToken reads one token from the start of rs (which starts with a Han
// rune) and returns how many runes it used. A lexicon word wins over a
// numeral; a run of Han the lexicon does not know becomes one unknown token.
func hanToken(rs []rune) (int, token) {
	for n := min(hanMaxRunes, len(rs)); n > 0; n-- {
		w := string(rs[:n])
		if lx, ok := han[w]; ok {
			t := fromLexeme(lx, w)
			if lx.then != nil {
				// Two-token entries (买一价) are expanded by joinPhrases.
				t.quote, t.side = lx.then.quote, lx.then.side
				t.ccy = "+" // marker: a best word that also names a side
			}
			return n, t
		}
	}
	if n, num, pow := hanNumeral(rs); n > 0 {
		if num.mant == 0 && pow > 0 {
			// A run of units only (万, 百万): a multiplier for the
			// number before it, or, alone, a quantity (百万美元).
			return n, token{kind: kUnit, text: string(rs[:n]), pow: pow}
		}
		return n, token{kind: kNumber, text: string(rs[:n]), num: num}
	}
	j := 1
	for j < len(rs) && unicode.Is(unicode.Han, rs[j]) {
		if _, ok := han[string(rs[j])]; ok {
			break
		}
		if hanDigit(rs[j]) >= 0 || hanUnit(rs[j]) > 0 {
			break
		}
		j++
	}
	return j, token{kind: kUnknown, text: string(rs[:j])}
}

// hanNumeral reads a Chinese numeral (五百万, 一千五百万, 两亿) from the start
// of rs. For a run of units only (万, 百万) it returns mant 0 and the
// run's power of ten. n is 0 when rs does not start with a numeral.
func hanNumeral(rs []rune) (n int, num number, pow int) {
	var total, section, digit uint64
	hasDigit, unitsOnly := false, true
	unitPow := 0
	for n < len(rs) && n < 20 {
		r := rs[n]
		if d := hanDigit(r); d >= 0 {
			digit, hasDigit, unitsOnly = uint64(d), true, false
			n++
			continue
		}
		u := hanUnit(r)
		if u == 0 {
			break
		}
		n++
		if unitsOnly {
			unitPow += u
			continue
		}
		switch {
		case u < 4: // 十 百 千 scale the digit before them within a section
			if digit == 0 && !hasDigit {
				digit = 1 // 十五 is fifteen
			}
			section += digit * pow10(u)
			digit, hasDigit = 0, false
		default: // 万 亿 scale the section
			section += digit
			if total+section > 1e15 {
				return n, number{bad: true}, 0
			}
			total = (total + section) * pow10(u)
			section, digit, hasDigit = 0, 0, false
			num.sized = true
		}
	}
	if n == 0 {
		return 0, number{}, 0
	}
	if unitsOnly {
		return n, number{}, unitPow
	}
	v := total + section + digit
	if v > 1e15 {
		return n, number{bad: true}, 0
	}
	num.mant = v
	return n, num, 0
}

func pow10(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

// parseNumber reads digits with optional thousands separators and one
// decimal point. Separators must group by three ("1,5" is refused: it is
// a European decimal comma or a typo, and guessing which is not ours).
func parseNumber(s string) number {
	var n number
	intPart, frac, hasPoint := strings.Cut(s, ".")
	n.hasPoint = hasPoint
	if strings.Contains(frac, ".") || strings.Contains(frac, ",") {
		return number{bad: true}
	}
	if strings.Contains(intPart, ",") {
		groups := strings.Split(intPart, ",")
		if len(groups[0]) == 0 || len(groups[0]) > 3 {
			return number{bad: true}
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return number{bad: true}
			}
		}
		intPart = strings.ReplaceAll(intPart, ",", "")
		n.grouped = true
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if len(digits) > maxDigits || len(frac) > maxDigits {
		return number{bad: true}
	}
	for _, c := range intPart + frac {
		n.mant = n.mant*10 + uint64(c-'0')
	}
	n.scale = len(frac)
	return n
}

// joinPhrases replaces multi-word phrases by their lexeme and expands the
// two-token Chinese entries (买一价 is "best" then "bid").
func joinPhrases(ts []token) []token {
	out := ts[:0:0]
	for i := 0; i < len(ts); i++ {
		matched := false
		for _, p := range phrases {
			if i+len(p.words) > len(ts) {
				continue
			}
			ok := true
			for k, w := range p.words {
				if ts[i+k].text != w {
					ok = false
					break
				}
			}
			if ok {
				out = append(out, fromLexeme(p.lex, strings.Join(p.words, " ")))
				i += len(p.words) - 1
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		t := ts[i]
		if t.kind == kBest && t.ccy == "+" {
			out = append(out, token{kind: kBest, text: t.text})
			out = append(out, token{kind: kSide, text: t.text, side: t.side, quote: true})
			continue
		}
		out = append(out, t)
	}
	return out
}

package chat

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"fxmatch/engine"
)

// order builds an order from the classified tokens, or asks about the
// first thing that is missing or wrong, in this order: side, order type,
// time in force, which number is which, the size, the price.
func (st *state) order(sides, tifs, market, limit []token, nums []numRef) Result {
	in := st.inst
	side := engine.Side(0)
	var quoteWord *token
	for i, s := range sides {
		if side != 0 && s.side != side {
			return st.ask(ReasonConflictingSide,
				fmt.Sprintf("You wrote both %q and %q — do you want to buy or sell %s?", sides[0].text, s.text, in.Symbol),
				fmt.Sprintf("您同时写了“%s”和“%s”，请问是买入还是卖出 %s？", sides[0].text, s.text, st.symZh()))
		}
		side = s.side
		if s.quote {
			quoteWord = &sides[i]
		}
	}

	isMarket := len(market) > 0
	if isMarket && len(limit) > 0 {
		return st.ask(ReasonConflictingType,
			"You wrote both market and limit — which one? A limit order needs a price; a market order trades at once at the best prices.",
			"您同时写了市价和限价，请问是哪一种？限价单需要价格；市价单按最优价格立即成交。")
	}
	if isMarket && quoteWord != nil {
		return st.ask(ReasonConflictingType,
			fmt.Sprintf("A %s rests at a price, so it can't be at market. Give a price (\"%s ... at %s\") or say \"%s ... at market\".", quoteWord.text, quoteWord.text, st.refText(), plainSide(side)),
			fmt.Sprintf("“%s”是挂在某个价格上的限价单，不能是市价。请给出价格，或改为市价%s。", quoteWord.text, plainSideZh(side)))
	}

	tif, tifSet := engine.Day, false
	for _, t := range tifs {
		if tifSet && t.tif != tif {
			return st.ask(ReasonConflictingTIF,
				fmt.Sprintf("You wrote both %s and %s — which time in force?", tifName(tif), tifName(t.tif)),
				fmt.Sprintf("您同时写了%s和%s，请问用哪种有效期？", tifZh(tif), tifZh(t.tif)))
		}
		tif, tifSet = t.tif, true
	}
	if isMarket {
		if tifSet && tif != engine.IOC && tif != engine.FOK {
			return st.ask(ReasonConflictingTIF,
				fmt.Sprintf("A market order doesn't rest, so it can't be %s: it fills what it can at once (IOC) or all or nothing (FOK). Which?", tifName(tif)),
				fmt.Sprintf("市价单不会挂单，不能是%s：要么立即成交剩余撤销（IOC），要么全部成交否则撤销（FOK）。请问是哪种？", tifZh(tif)))
		}
		if !tifSet {
			tif = engine.IOC
		}
	}

	// Which number is which. A number with a unit (5m, 500万) is a size;
	// one after a price marker (at, @, limit) is a price; bare numbers
	// fill what is missing, size first, unless that reading makes no
	// sense and the other one does, which we ask about.
	var size, price *numRef
	var bare []*numRef
	for i := range nums {
		n := &nums[i]
		if n.tok.num.bad {
			return st.ask(ReasonBadNumber,
				fmt.Sprintf("I can't read the number %q. Write sizes like 5m or 5,000,000 and prices with a decimal point, like %s.", n.tok.text, st.refText()),
				fmt.Sprintf("无法识别数字“%s”。金额请写成 500万 或 5,000,000，价格请用小数点，例如 %s。", n.tok.text, st.refText()))
		}
		switch {
		case n.pow >= 0 || n.tok.num.sized:
			if size != nil {
				return st.conflictingSizes(size, n)
			}
			n.role, size = roleSize, n
		case n.pricey:
			if price != nil {
				return st.conflictingPrices(price, n)
			}
			n.role, price = rolePrice, n
		default:
			bare = append(bare, n)
		}
	}
	if isMarket && price != nil {
		return st.ask(ReasonConflictingType,
			fmt.Sprintf("A market order has no price, but you gave %s. Is it a limit order at %s, or at market?", price.tok.text, price.tok.text),
			fmt.Sprintf("市价单没有价格，但您给了 %s。是 %s 的限价单，还是市价单？", price.tok.text, price.tok.text))
	}
	needSize, needPrice := size == nil, price == nil && !isMarket
	if need := b2i(needSize) + b2i(needPrice); len(bare) > need {
		n := bare[need]
		return st.ask(ReasonExtraNumber,
			fmt.Sprintf("I can't tell what %s is: I expect one size and one price. Write the size with a unit (5m) and the price after \"at\".", n.tok.text),
			fmt.Sprintf("我不清楚 %s 指什么：一笔订单只有一个金额和一个价格。请把金额写上单位（500万），价格写在“价”之后。", n.tok.text))
	}
	switch {
	case len(bare) == 0:
	case needSize && needPrice && len(bare) == 1:
		n := bare[0]
		ps, pp := st.plausibleSize(n), st.plausiblePrice(n)
		switch {
		case ps && pp:
			q, _ := st.qtyOf(n)
			return st.ask(ReasonAmbiguousNumber,
				fmt.Sprintf("Is %s the size (%s %s) or the price? Write e.g. \"%sm\" for a size or \"at %s\" for a price.", n.tok.text, group(q), in.Base, n.tok.text, n.tok.text),
				fmt.Sprintf("%s 是金额（%s %s）还是价格？金额请写如“%s百万”，价格请写如“价 %s”。", n.tok.text, group(q), ccyZh(in.Base), n.tok.text, n.tok.text))
		case pp || !ps && n.tok.num.hasPoint:
			n.role, price = rolePrice, n
		default:
			n.role, size = roleSize, n
		}
	case needSize && needPrice: // two bare numbers
		a, b := bare[0], bare[1]
		if !(st.plausibleSize(a) && st.plausiblePrice(b)) && st.plausibleSize(b) && st.plausiblePrice(a) {
			q, _ := st.qtyOf(b)
			return st.ask(ReasonAmbiguousNumber,
				fmt.Sprintf("Did you mean %s %s at %s? Please write the size with a unit and the price after \"at\", e.g. \"%s %sm %s at %s\".", group(q), in.Base, a.tok.text, plainSide(side), b.tok.text, strings.ToLower(in.Symbol), a.tok.text),
				fmt.Sprintf("您是指 %s %s，价格 %s 吗？请把金额写上单位、价格写在“价”之后，例如“%s %s百万 %s 价 %s”。", group(q), ccyZh(in.Base), a.tok.text, plainSideZh(side), b.tok.text, st.symZh(), a.tok.text))
		}
		a.role, b.role, size, price = roleSize, rolePrice, a, b
	case needSize:
		bare[0].role, size = roleSize, bare[0]
	default:
		bare[0].role, price = rolePrice, bare[0]
	}

	if side == 0 {
		what := in.Symbol
		if size != nil {
			if q, ex := st.qtyOf(size); ex == exact {
				what = group(q) + " " + in.Symbol
			}
		}
		return st.ask(ReasonNoSide,
			fmt.Sprintf("Do you want to buy or sell %s?", what),
			fmt.Sprintf("请问是买入还是卖出 %s？", what))
	}
	if size == nil {
		return st.ask(ReasonNoSize,
			fmt.Sprintf("How much %s do you want to %s? For example 5m (5,000,000 %s).", in.Base, plainSide(side), in.Base),
			fmt.Sprintf("请问%s多少%s？例如 500万（5,000,000 %s）。", plainSideZh(side), ccyZh(in.Base), in.Base))
	}
	qty, r, bad := st.checkSize(size)
	if bad {
		return r
	}
	if price == nil && !isMarket {
		return st.ask(ReasonNoPrice,
			fmt.Sprintf("At what price? Give a limit price (e.g. \"at %s\") or say \"at market\".", st.refText()),
			fmt.Sprintf("请问价格是多少？请给出限价（例如“价 %s”），或说明“市价”。", st.refText()))
	}
	o := &Order{Side: side, Symbol: in.Symbol, Qty: qty, OrdType: engine.Limit, TIF: tif}
	if isMarket {
		o.OrdType = engine.Market
	} else {
		px, r, bad := st.checkPrice(price)
		if bad {
			return r
		}
		o.PriceFixed, o.Price = px, st.fmtPrice(px)
	}
	o.Confirm = st.confirm(o)
	if o.OrdType == engine.Limit {
		if r, far := st.farFromRef(o); far {
			return r
		}
	}
	return Result{Kind: KindOrder, Lang: st.lang(), Order: o}
}

func (st *state) conflictingSizes(a, b *numRef) Result {
	return st.ask(ReasonConflictingSize,
		fmt.Sprintf("I see two sizes, %s and %s — which one?", numText(a), numText(b)),
		fmt.Sprintf("我看到两个金额：%s 和 %s，请问是哪一个？", numText(a), numText(b)))
}

func (st *state) conflictingPrices(a, b *numRef) Result {
	return st.ask(ReasonConflictingPrice,
		fmt.Sprintf("I see two prices, %s and %s — which one?", a.tok.text, b.tok.text),
		fmt.Sprintf("我看到两个价格：%s 和 %s，请问是哪一个？", a.tok.text, b.tok.text))
}

func numText(n *numRef) string {
	if n.unit == "" || n.tok.num.sized {
		return n.tok.text
	}
	if hasHan(n.unit) || len(n.unit) <= 2 {
		return n.tok.text + n.unit
	}
	return n.tok.text + " " + n.unit
}

func plainSide(s engine.Side) string {
	if s == engine.Sell {
		return "sell"
	}
	return "buy"
}

func plainSideZh(s engine.Side) string {
	if s == engine.Sell {
		return "卖出"
	}
	return "买入"
}

// qtyOf converts a size to base units: the unit's multiplier, or for a
// bare number millions below 1000 and units from 1000 up (or when written
// with thousands separators).
func (st *state) qtyOf(n *numRef) (int64, exactness) {
	num := n.tok.num
	pow := n.pow
	switch {
	case num.sized:
		pow = max(pow, 0)
	case pow >= 0:
	case num.grouped || !num.hasPoint && num.mant >= 1000:
		pow = 0
	default:
		pow = 6
	}
	return scaleExact(num.mant, pow-num.scale)
}

// exactness is how a decimal converts to an integer.
type exactness uint8

const (
	exact    exactness = iota
	fraction           // not a whole number
	overflow           // does not fit in an int64
)

// scaleExact returns mant × 10^e if it is a whole number within int64.
func scaleExact(mant uint64, e int) (int64, exactness) {
	for ; e < 0; e++ {
		if mant%10 != 0 {
			return 0, fraction
		}
		mant /= 10
	}
	for ; e > 0; e-- {
		if mant > math.MaxInt64/10 {
			return 0, overflow
		}
		mant *= 10
	}
	if mant > math.MaxInt64 {
		return 0, overflow
	}
	return int64(mant), exact
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (st *state) plausibleSize(n *numRef) bool {
	q, ex := st.qtyOf(n)
	in := st.inst
	return ex == exact && q > 0 && in.Lot > 0 && q%int64(in.Lot) == 0 && q >= int64(in.MinQty) && (in.MaxQty == 0 || q <= int64(in.MaxQty))
}

// priceOf converts a number to engine units exactly; ok is false when it
// needs more than 8 decimal places or is too large.
func priceOf(n *numRef) (engine.Price, bool) {
	num := n.tok.num
	if num.scale > engine.PriceDecimals {
		return 0, false
	}
	v, ex := scaleExact(num.mant, engine.PriceDecimals-num.scale)
	return engine.Price(v), ex == exact
}

func (st *state) plausiblePrice(n *numRef) bool {
	p, ok := priceOf(n)
	in := st.inst
	if !ok || p <= 0 || in.Tick <= 0 || p%in.Tick != 0 {
		return false
	}
	if in.RefPrice <= 0 {
		return n.tok.num.hasPoint
	}
	lo, hi := st.band()
	return p >= lo && p <= hi
}

// band is the range of prices the dealer could plausibly mean: the
// venue's band (computed as the engine does), or ±10% of the reference
// price for an instrument without a band.
func (st *state) band() (lo, hi engine.Price) {
	in := st.inst
	ref := int64(in.RefPrice)
	bp := in.BandBP
	if bp <= 0 || bp >= 10000 {
		bp = 1000
	}
	if ref > 1<<47 {
		return 0, math.MaxInt64
	}
	tick := int64(in.Tick)
	h := ref * (10000 + bp) / 10000
	h -= h % tick
	num := ref * (10000 - bp)
	l := num / 10000
	if num%10000 != 0 {
		l++
	}
	if r := l % tick; r != 0 {
		l += tick - r
	}
	return engine.Price(l), engine.Price(h)
}

// checkSize validates a size against the instrument's lot, minimum and
// maximum.
func (st *state) checkSize(n *numRef) (engine.Qty, Result, bool) {
	in := st.inst
	base := in.Base
	q, ex := st.qtyOf(n)
	written := numText(n)
	switch ex {
	case fraction:
		return 0, st.ask(ReasonBadSize,
			fmt.Sprintf("%s isn't a whole number of %s. What size did you mean?", written, base),
			fmt.Sprintf("%s 不是整数的%s金额，请问是多少？", written, ccyZh(base))), true
	case overflow:
		return 0, st.ask(ReasonBadSize,
			fmt.Sprintf("%s is far too large for an order. What size did you mean?", written),
			fmt.Sprintf("%s 金额过大，请问是多少？", written)), true
	}
	lot, minQ, maxQ := int64(in.Lot), int64(in.MinQty), int64(in.MaxQty)
	switch {
	case q <= 0:
		return 0, st.ask(ReasonBadSize,
			fmt.Sprintf("The size must be more than zero. How much %s?", base),
			fmt.Sprintf("金额必须大于零，请问是多少%s？", ccyZh(base))), true
	case maxQ > 0 && q > maxQ:
		en := fmt.Sprintf("%s %s is above the %s maximum of %s per order.", group(q), base, in.Symbol, group(maxQ))
		zh := fmt.Sprintf("%s %s 超过了 %s 单笔上限 %s。", group(q), ccyZh(base), in.Symbol, group(maxQ))
		if n.pow == 9 {
			if m, ex := scaleExact(n.tok.num.mant, 6-n.tok.num.scale); ex == exact && m <= maxQ && m%lot == 0 {
				en += fmt.Sprintf(" Did you mean %s (%s)?", n.tok.text+"m", group(m))
				zh += fmt.Sprintf("您是指 %s 吗？", group(m))
			}
		}
		return 0, st.ask(ReasonBadSize, en+" What size?", zh+"请问金额是多少？"), true
	case lot > 0 && q%lot != 0:
		lo := q - q%lot
		hi := lo + lot
		alt := group(hi)
		if lo >= minQ && lo > 0 {
			alt = group(lo) + " or " + group(hi)
		}
		return 0, st.ask(ReasonBadSize,
			fmt.Sprintf("%s trades in lots of %s; %s %s isn't a whole number of lots. %s?", in.Symbol, group(lot), group(q), base, capitalize(alt)),
			fmt.Sprintf("%s 以 %s 为一手交易；%s %s 不是整手。请问是 %s？", in.Symbol, group(lot), group(q), ccyZh(base), strings.ReplaceAll(alt, " or ", " 还是 "))), true
	case q < minQ:
		return 0, st.ask(ReasonBadSize,
			fmt.Sprintf("%s %s is below the %s minimum of %s. What size did you mean?", group(q), base, in.Symbol, group(minQ)),
			fmt.Sprintf("%s %s 低于 %s 的最小金额 %s，请问是多少？", group(q), ccyZh(base), in.Symbol, group(minQ))), true
	}
	return engine.Qty(q), Result{}, false
}

// checkPrice validates a limit price: exact, positive, on the tick grid,
// inside the band. It never rounds.
func (st *state) checkPrice(n *numRef) (engine.Price, Result, bool) {
	in := st.inst
	written := strings.ReplaceAll(n.tok.text, ",", "")
	p, ok := priceOf(n)
	if !ok {
		return 0, st.ask(ReasonOffTick,
			fmt.Sprintf("%s has more decimals than %s quotes (tick %s). Which price did you mean?", written, in.Symbol, st.fmtPrice(in.Tick)),
			fmt.Sprintf("%s 的小数位数超过了 %s 的报价精度（最小变动 %s），请问价格是多少？", written, in.Symbol, st.fmtPrice(in.Tick))), true
	}
	if p <= 0 {
		return 0, st.ask(ReasonBadNumber,
			"A price must be more than zero. Which price did you mean?",
			"价格必须大于零，请问价格是多少？"), true
	}
	if in.Tick > 0 && p%in.Tick != 0 {
		lo := p - p%in.Tick
		hi := lo + in.Tick
		return 0, st.ask(ReasonOffTick,
			fmt.Sprintf("%s isn't on the %s tick of %s — did you mean %s or %s?", written, in.Symbol, st.fmtPrice(in.Tick), st.fmtPrice(lo), st.fmtPrice(hi)),
			fmt.Sprintf("%s 不符合 %s 的最小价格变动 %s，您是指 %s 还是 %s？", written, in.Symbol, st.fmtPrice(in.Tick), st.fmtPrice(lo), st.fmtPrice(hi))), true
	}
	if in.RefPrice > 0 && in.BandBP > 0 {
		lo, hi := st.band()
		if p < lo || p > hi {
			pct := strconv.FormatFloat(float64(in.BandBP)/100, 'f', -1, 64)
			return 0, st.ask(ReasonOutsideBand,
				fmt.Sprintf("%s is outside the ±%s%% band around the %s reference %s (%s to %s), so the venue would reject it. Which price did you mean?", st.fmtPrice(p), pct, in.Symbol, st.fmtPrice(in.RefPrice), st.fmtPrice(lo), st.fmtPrice(hi)),
				fmt.Sprintf("%s 超出了 %s 参考价 %s 上下 %s%% 的价格区间（%s 至 %s），会被拒绝。请问价格是多少？", st.fmtPrice(p), in.Symbol, st.fmtPrice(in.RefPrice), pct, st.fmtPrice(lo), st.fmtPrice(hi))), true
		}
	}
	return p, Result{}, false
}

// farFromRef asks about a limit price more than FarBP from the reference
// price: more often a typo than a view. The complete order rides along in
// Clarify.Pending so that a yes needs no second parse.
func (st *state) farFromRef(o *Order) (Result, bool) {
	in := st.inst
	far := st.p.FarBP
	if far == 0 {
		far = DefaultFarBP
	}
	if far < 0 || in.RefPrice <= 0 {
		return Result{}, false
	}
	ref := in.RefPrice
	d := int64(o.PriceFixed - ref)
	if d < 0 {
		d = -d
	}
	// d/ref > far/10000 without overflow: d ≤ 2^63/10000 for any price the
	// band check let through (ref ≤ 2^47).
	if d <= math.MaxInt64/10000 && d*10000 <= int64(ref)*far {
		return Result{}, false
	}
	pct := strconv.FormatFloat(float64(d)*100/float64(ref), 'f', 2, 64)
	dir, dirZh := "above", "高于"
	if o.PriceFixed < ref {
		dir, dirZh = "below", "低于"
	}
	r := st.ask(ReasonFarFromReference,
		fmt.Sprintf("%s is %s%% %s the %s reference price %s — is that right, or a typo? If it is right: %s", o.Price, pct, dir, in.Symbol, st.fmtPrice(ref), o.Confirm),
		fmt.Sprintf("%s %s %s 参考价 %s 达 %s%%，是否输入有误？如无误：%s", o.Price, dirZh, in.Symbol, st.fmtPrice(ref), pct, o.Confirm))
	r.Clarify.Pending = o
	return r, true
}

// confirm is the sentence shown back to the dealer.
func (st *state) confirm(o *Order) string {
	in := st.inst
	if st.zh {
		what := fmt.Sprintf("%s %s %s/%s（%s）", plainSideZh(o.Side), group(int64(o.Qty)), ccyZh(in.Base), ccyZh(in.Term), in.Symbol)
		if o.OrdType == engine.Market {
			return fmt.Sprintf("%s，市价，%s — 确认吗？", what, tifZh(o.TIF))
		}
		return fmt.Sprintf("%s，限价 %s，%s — 确认吗？", what, o.Price, tifZh(o.TIF))
	}
	what := fmt.Sprintf("%s %s %s", capitalize(plainSide(o.Side)), group(int64(o.Qty)), in.Symbol)
	if o.OrdType == engine.Market {
		return fmt.Sprintf("%s at market, %s — confirm?", what, tifName(o.TIF))
	}
	return fmt.Sprintf("%s at %s, %s limit — confirm?", what, o.Price, tifName(o.TIF))
}

func tifName(t engine.TIF) string {
	switch t {
	case engine.Day:
		return "Day"
	case engine.GTC:
		return "GTC"
	case engine.IOC:
		return "IOC"
	case engine.FOK:
		return "FOK"
	}
	return strings.ToUpper(t.String())
}

func tifZh(t engine.TIF) string {
	switch t {
	case engine.Day:
		return "当日有效"
	case engine.GTC:
		return "撤销前有效"
	case engine.IOC:
		return "即时成交剩余撤销（IOC）"
	case engine.FOK:
		return "全部成交否则撤销（FOK）"
	}
	return strings.ToUpper(t.String())
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// group writes n with thousands separators: 5000000 is 5,000,000.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

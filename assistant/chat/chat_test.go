package chat

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"fxmatch/engine"
)

// demo is the instrument list of the FIX Rules of Engagement's demo
// configuration.
func demo() []engine.Instrument {
	in := func(sym string, tick, ref engine.Price) engine.Instrument {
		return engine.Instrument{Symbol: sym, Base: sym[:3], Term: sym[4:], Tick: tick,
			Lot: 100_000, MinQty: 100_000, MaxQty: 500_000_000, RefPrice: ref, BandBP: 200}
	}
	return []engine.Instrument{
		in("USD/CNY", 10_000, 710_000_000),
		in("EUR/USD", 1_000, 108_000_000),
		in("USD/JPY", 100_000, 15_000_000_000),
		in("EUR/CNY", 10_000, 770_000_000),
	}
}

// render is a result in one line: "order buy 5000000 USD/CNY limit 7.1020
// day", "question best-bid USD/CNY", "clarify off-tick".
func render(r Result) string {
	switch r.Kind {
	case KindOrder:
		o := r.Order
		s := fmt.Sprintf("order %s %d %s %s", o.Side, o.Qty, o.Symbol, o.OrdType)
		if o.Price != "" {
			s += " " + o.Price
		}
		return s + " " + o.TIF.String()
	case KindQuestion:
		q := r.Question
		s := fmt.Sprintf("question %s %s", q.Kind, q.Symbol)
		if q.Levels != 0 {
			s += fmt.Sprintf(" %d", q.Levels)
		}
		return s
	}
	return "clarify " + r.Clarify.Reason.String()
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want string
		// say is a piece of the clarifying question that must be there:
		// the question has to be about the actual problem.
		say string
	}{
		// The examples.
		{"buy 5m usdcny at 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"bid 3 usd/jpy 150.12", "order buy 3000000 USD/JPY limit 150.120 day", ""},
		{"买入 500万 美元/人民币 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"卖出 1000万 欧元兑美元 1.0815", "order sell 10000000 EUR/USD limit 1.08150 day", ""},
		{"best bid usdcny", "question best-bid USD/CNY", ""},
		{"depth eur/usd", "question depth EUR/USD", ""},
		{"最优买价 美元人民币", "question best-bid USD/CNY", ""},
		// Ten yards is above the demo maximum of 500,000,000 per order
		// (TestYardsWithALargerMaximum parses it where it is allowed).
		{"sell 10 yards eur/usd 1.0815 ioc", "clarify bad-size", "above the EUR/USD maximum of 500,000,000 per order. Did you mean 10m"},

		// Case, spacing, price markers.
		{"BUY 5M USDCNY AT 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"  buy   5m\tusdcny   @  7.1020  ", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"buy 5m usdcny @7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"buy 5m usdcny 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"Buy 5 Mio USD/CNY at 7.1020.", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"buy usd/cny 5m at 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"usdcny buy 5m 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"buy 5m usd-cny limit 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"buy 5m usd vs cny px 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"buy 5m usdcny price 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"please buy 5m usdcny at 7.1020 thanks", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"I want to buy 5m of usdcny at 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"buy 5m usdcny at 7.1020?", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"ｂｕｙ　５ｍ　ｕｓｄ／ｃｎｙ　＠　７．１０２０", "order buy 5000000 USD/CNY limit 7.1020 day", ""},

		// Sizes.
		{"buy 500k usdcny at 7.1020", "order buy 500000 USD/CNY limit 7.1020 day", ""},
		{"buy 500 thousand usdcny at 7.1020", "order buy 500000 USD/CNY limit 7.1020 day", ""},
		{"buy 1.5m usdcny at 7.1020", "order buy 1500000 USD/CNY limit 7.1020 day", ""},
		{"buy .5m usdcny at 7.1020", "order buy 500000 USD/CNY limit 7.1020 day", ""},
		{"buy 5mm usdcny at 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"buy 5 mln usdcny at 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"buy 5 million usdcny at 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"buy 5 bucks usdcny at 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"buy 5 usdcny at 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"buy 5,000,000 usdcny at 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"buy 5000000 usdcny at 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"buy 0.5 yards usdcny at 7.1020", "order buy 500000000 USD/CNY limit 7.1020 day", ""},
		{"sell 0.25bn eurusd 1.0815", "order sell 250000000 EUR/USD limit 1.08150 day", ""},
		{"买入 5百万 美元/人民币 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"买入 五百万 美元/人民币 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"买入一千五百万美元人民币7.1020", "order buy 15000000 USD/CNY limit 7.1020 day", ""},
		{"卖出 1亿 欧元兑美元 1.0815", "order sell 100000000 EUR/USD limit 1.08150 day", ""},
		{"卖出 两亿 欧元兑美元 1.0815", "order sell 200000000 EUR/USD limit 1.08150 day", ""},
		{"买入 百万美元 美元兑日元 150.12", "order buy 1000000 USD/JPY limit 150.120 day", ""},
		{"买入 ５００万 美元／人民币 ７．１０２０", "order buy 5000000 USD/CNY limit 7.1020 day", ""},

		// Sides and dealer slang.
		{"sell 5m usdcny at 7.1020", "order sell 5000000 USD/CNY limit 7.1020 day", ""},
		{"offer 5m usdcny at 7.1020", "order sell 5000000 USD/CNY limit 7.1020 day", ""},
		{"ask 5 usdjpy 150.125", "order sell 5000000 USD/JPY limit 150.125 day", ""},
		{"usdjpy mine 5 at 150.12", "order buy 5000000 USD/JPY limit 150.120 day", ""},
		{"usdjpy yours 5 at 150.12", "order sell 5000000 USD/JPY limit 150.120 day", ""},
		{"buy bid 5m usdcny 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"买 5百万 美元人民币 价 7.1020", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"沽 5百万 美元人民币 7.1020", "order sell 5000000 USD/CNY limit 7.1020 day", ""},

		// Pairs.
		{"sell 2m fiber 1.0815", "order sell 2000000 EUR/USD limit 1.08150 day", ""},
		{"sell 2m euro dollar 1.0815", "order sell 2000000 EUR/USD limit 1.08150 day", ""},
		{"buy 2m dollar yen 150.12", "order buy 2000000 USD/JPY limit 150.120 day", ""},
		{"buy 2m eurcny 7.7010", "order buy 2000000 EUR/CNY limit 7.7010 day", ""},
		{"buy 2m eur/cny at 7.7010", "order buy 2000000 EUR/CNY limit 7.7010 day", ""},
		{"buy 2m usd usdcny at 7.1020", "order buy 2000000 USD/CNY limit 7.1020 day", ""},
		{"卖出 200万 欧元对人民币 7.7010", "order sell 2000000 EUR/CNY limit 7.7010 day", ""},

		// Time in force and order type.
		{"buy 5m usdcny at 7.1020 gtc", "order buy 5000000 USD/CNY limit 7.1020 gtc", ""},
		{"buy 5m usdcny at 7.1020 good till cancelled", "order buy 5000000 USD/CNY limit 7.1020 gtc", ""},
		{"buy 5m usdcny at 7.1020 ioc", "order buy 5000000 USD/CNY limit 7.1020 ioc", ""},
		{"buy 5m usdcny at 7.1020 IOC", "order buy 5000000 USD/CNY limit 7.1020 ioc", ""},
		{"buy 5m usdcny at 7.1020 immediate or cancel", "order buy 5000000 USD/CNY limit 7.1020 ioc", ""},
		{"buy 5m usdcny at 7.1020 fill or kill", "order buy 5000000 USD/CNY limit 7.1020 fok", ""},
		{"buy 5m usdcny at 7.1020 day", "order buy 5000000 USD/CNY limit 7.1020 day", ""},
		{"buy 5m usdcny at market", "order buy 5000000 USD/CNY market ioc", ""},
		{"buy 5m usdcny at best", "order buy 5000000 USD/CNY market ioc", ""},
		{"sell 5m usdcny mkt fok", "order sell 5000000 USD/CNY market fok", ""},
		{"买入 500万 美元/人民币 市价", "order buy 5000000 USD/CNY market ioc", ""},
		{"卖出 500万 美元/人民币 限价 7.1020 撤销前有效", "order sell 5000000 USD/CNY limit 7.1020 gtc", ""},
		{"卖出 500万 美元/人民币 7.1020 即时成交剩余撤销", "order sell 5000000 USD/CNY limit 7.1020 ioc", ""},
		{"我要卖出5百万美元兑日元，价格150.120，当日有效", "order sell 5000000 USD/JPY limit 150.120 day", ""},

		// Questions.
		{"best offer usdcny", "question best-offer USD/CNY", ""},
		{"best ask usdcny", "question best-offer USD/CNY", ""},
		{"Best Bid USD/CNY?", "question best-bid USD/CNY", ""},
		{"what's the bid in usdcny?", "question best-bid USD/CNY", ""},
		{"whats the offer in eurusd", "question best-offer EUR/USD", ""},
		{"bid usdcny?", "question best-bid USD/CNY", ""},
		{"usdcny?", "question top USD/CNY", ""},
		{"usdjpy", "question top USD/JPY", ""},
		{"price usdcny", "question top USD/CNY", ""},
		{"best usdcny", "question top USD/CNY", ""},
		{"show me the book for usdjpy", "question depth USD/JPY", ""},
		{"depth 5 usdjpy", "question depth USD/JPY 5", ""},
		{"order book eurcny", "question depth EUR/CNY", ""},
		{"最优卖价 欧元/美元", "question best-offer EUR/USD", ""},
		{"买一价 美元兑日元", "question best-bid USD/JPY", ""},
		{"卖一价 美元兑日元", "question best-offer USD/JPY", ""},
		{"美元人民币 深度", "question depth USD/CNY", ""},
		{"盘口 欧元兑人民币", "question depth EUR/CNY", ""},
		{"美元兑人民币报价是多少？", "question top USD/CNY", ""},

		// Anything ambiguous gets a specific question back.
		{"", "clarify empty", "What would you like to do"},
		{"   ", "clarify empty", ""},
		{"buy 5m usdcny", "clarify no-price", "At what price"},
		{"bid 5m usdcny", "clarify no-price", "At what price"},
		{"buy usdcny at 7.1020", "clarify no-size", "How much USD do you want to buy"},
		{"buy usdcny 7.1020", "clarify no-size", "How much USD"},
		{"5m usdcny at 7.1020", "clarify no-side", "buy or sell 5,000,000 USD/CNY"},
		{"buy 5m at 7.1020", "clarify no-pair", "Which currency pair"},
		{"buy 5m usd at 7.1020", "clarify one-currency", "USD against which currency"},
		{"buy 5m yen at 150.12", "clarify one-currency", "Buying JPY in a pair where it is the second currency means selling"},
		{"buy 5m gbpusd at 1.2700", "clarify unknown-pair", "GBP/USD isn't traded here"},
		{"buy 5m cable at 1.2700", "clarify unknown-pair", "GBP/USD isn't traded here"},
		{"buy 5m usdcnh at 7.1020", "clarify unknown-pair", "USD/CNH isn't traded here"},
		{"buy 5m cny/usd at 0.1408", "clarify inverted-pair", "This venue quotes USD/CNY, not CNY/USD"},
		{"buy 5m usdcny eurusd at 7.1020", "clarify conflicting-pair", "both USD/CNY and EUR/USD"},
		{"buy 5m usdcny at 7.1020 in eur", "clarify conflicting-pair", "both USD/CNY and EUR"},
		{"buy sell 5m usdcny at 7.1020", "clarify conflicting-side", "do you want to buy or sell USD/CNY"},
		{"buy 5m usdcny offer 7.1020", "clarify conflicting-side", `both "buy" and "offer"`},
		{"buy 5m usdcny at 7.10205", "clarify off-tick", "did you mean 7.1020 or 7.1021"},
		{"sell 1m eurusd 1.081525", "clarify off-tick", "did you mean 1.08152 or 1.08153"},
		{"buy 1m usdjpy 150.1234", "clarify off-tick", "did you mean 150.123 or 150.124"},
		{"buy 1m usdjpy 150.123456789", "clarify off-tick", "more decimals than USD/JPY quotes"},
		{"buy 5m usdcny at 7.2010", "clarify far-from-reference", "7.2010 is 1.42% above the USD/CNY reference price 7.1000"},
		{"sell 5m usdcny at 7.0500", "clarify far-from-reference", "0.70% below"},
		{"buy 5m usdcny at 7.5000", "clarify outside-band", "outside the ±2% band around the USD/CNY reference 7.1000 (6.9580 to 7.2420)"},
		{"buy 5m usdcny at 0", "clarify bad-number", "more than zero"},
		{"buy 150k usdcny at 7.1020", "clarify bad-size", "100,000 or 200,000?"},
		{"buy 50k usdcny at 7.1020", "clarify bad-size", "isn't a whole number of lots"},
		{"buy 1.2345678m usdcny at 7.1020", "clarify bad-size", "isn't a whole number of USD"},
		{"buy 2000 usdcny at 7.1020", "clarify bad-size", "2,000 USD isn't a whole number of lots"},
		{"buy 600m usdcny at 7.1020", "clarify bad-size", "above the USD/CNY maximum of 500,000,000"},
		{"buy 99999999999999999999 usdcny at 7.1020", "clarify bad-number", `can't read the number`},
		{"buy 1,5m usdcny at 7.1020", "clarify bad-number", `can't read the number "1,5"`},
		{"buy 5m 6m usdcny at 7.1020", "clarify conflicting-size", "two sizes, 5m and 6m"},
		{"buy 5m usdcny at 7.1020 at 7.1030", "clarify conflicting-price", "two prices, 7.1020 and 7.1030"},
		{"buy 5m usdcny 7.1020 7.1030", "clarify extra-number", "I can't tell what 7.1030 is"},
		{"buy 5 usdcny 7.1020 3", "clarify extra-number", "I can't tell what 3 is"},
		{"bid 150 usdjpy", "clarify ambiguous-number", "Is 150 the size (150,000,000 USD) or the price"},
		{"buy usdcny 7.1020 5", "clarify ambiguous-number", "Did you mean 5,000,000 USD at 7.1020"},
		{"buy 5m usdcny at 7.1020 ioc fok", "clarify conflicting-tif", "both IOC and FOK"},
		{"buy 5m usdcny at market gtc", "clarify conflicting-tif", "can't be GTC"},
		{"buy 5m usdcny market at 7.1020", "clarify conflicting-type", "A market order has no price"},
		{"buy 5m usdcny market limit 7.1020", "clarify conflicting-type", "both market and limit"},
		{"bid 5m usdcny at market", "clarify conflicting-type", "can't be at market"},
		{"bid usdcny", "clarify order-or-question", "see the market"},
		{"best bid 5m usdcny", "clarify order-or-question", "order or a question"},
		{"best buy price usdcny", "clarify ambiguous-question", "best bid"},
		{"buy 5m usdcny at 7.1020 tomorrow", "clarify unknown-word", `"tomorrow"`},
		{"buy 5m usdcny at 7.1020 asap", "clarify unknown-word", `"asap"`},
		{"buy 5 m usdcny at 7.1020 🚀", "clarify unknown-word", "🚀"},
		{"don't buy 5m usdcny at 7.1020", "clarify negation", `"dont"`},
		{"不要买入 500万 美元/人民币 7.1020", "clarify negation", "不要"},
		{"cancel my usdcny bid", "clarify unsupported", `can't "cancel"`},
		{"buy 5m usdcny at 7.1020 gtd", "clarify unsupported", `"gtd"`},
		{"撤单 美元人民币", "clarify unsupported", "撤单"},
		{"买入 500万 美元/人民币", "clarify no-price", "请问价格是多少"},
		{"买入 美元/人民币 7.1020", "clarify no-size", "请问买入多少美元"},
		{"买入 500万 英镑/美元 1.2700", "clarify unknown-pair", "本平台不交易 GBP/USD"},
		{"买入 500万 美元/人民币 7.10205", "clarify off-tick", "您是指 7.1020 还是 7.1021"},
		{"买入 500万 美元/人民币 7.2010", "clarify far-from-reference", "是否输入有误"},
		{"买入 一百五十五万 美元人民币 7.1020", "clarify bad-size", "不是整手"},
		{"买入 一百五十万 美元人民币 7.1020", "order buy 1500000 USD/CNY limit 7.1020 day", ""},
		{"买入卖出 500万 美元/人民币 7.1020", "clarify conflicting-side", "买入还是卖出"},
		{strings.Repeat("buy ", 200), "clarify too-long", "too long"},
		{strings.Repeat("buy ", 60), "clarify too-long", "too many words"},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			r := Parse(tc.msg, demo())
			if got := render(r); got != tc.want {
				t.Fatalf("Parse(%q) = %s, want %s\n%s", tc.msg, got, tc.want, dump(r))
			}
			if tc.say != "" && !strings.Contains(r.Clarify.Question, tc.say) {
				t.Fatalf("Parse(%q) asks %q, want it to say %q", tc.msg, r.Clarify.Question, tc.say)
			}
			checkInvariants(t, tc.msg, demo(), r)
		})
	}
}

func dump(r Result) string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}

func TestConfirmSentences(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"buy 5m usdcny at 7.1020", "Buy 5,000,000 USD/CNY at 7.1020, Day limit — confirm?"},
		{"bid 3 usd/jpy 150.12", "Buy 3,000,000 USD/JPY at 150.120, Day limit — confirm?"},
		{"sell 10m eur/usd 1.0815 ioc", "Sell 10,000,000 EUR/USD at 1.08150, IOC limit — confirm?"},
		{"sell 2.5m fiber mkt fok", "Sell 2,500,000 EUR/USD at market, FOK — confirm?"},
		{"buy 5m usdcny at market", "Buy 5,000,000 USD/CNY at market, IOC — confirm?"},
		{"买入 500万 美元/人民币 7.1020", "买入 5,000,000 美元/人民币（USD/CNY），限价 7.1020，当日有效 — 确认吗？"},
		{"卖出 1000万 欧元兑美元 1.0815", "卖出 10,000,000 欧元/美元（EUR/USD），限价 1.08150，当日有效 — 确认吗？"},
		{"买入 500万 美元/人民币 市价", "买入 5,000,000 美元/人民币（USD/CNY），市价，即时成交剩余撤销（IOC） — 确认吗？"},
	} {
		r := Parse(tc.msg, demo())
		if r.Kind != KindOrder {
			t.Errorf("Parse(%q) = %s, want an order", tc.msg, render(r))
			continue
		}
		if r.Order.Confirm != tc.want {
			t.Errorf("Parse(%q).Confirm = %q, want %q", tc.msg, r.Order.Confirm, tc.want)
		}
	}
}

// The instrument list is an input: the same words parse against another
// configuration's ticks, lots and limits.
func TestYardsWithALargerMaximum(t *testing.T) {
	ins := demo()
	ins[1].MaxQty = 20_000_000_000
	r := Parse("sell 10 yards eur/usd 1.0815 ioc", ins)
	if got, want := render(r), "order sell 10000000000 EUR/USD limit 1.08150 ioc"; got != want {
		t.Fatalf("got %s, want %s\n%s", got, want, dump(r))
	}
	if got, want := r.Order.Confirm, "Sell 10,000,000,000 EUR/USD at 1.08150, IOC limit — confirm?"; got != want {
		t.Fatalf("Confirm = %q, want %q", got, want)
	}
}

func TestOtherConfiguration(t *testing.T) {
	ins := []engine.Instrument{{
		Symbol: "GBP/USD", Base: "GBP", Term: "USD", Tick: 5_000, // half a pip
		Lot: 1_000_000, MinQty: 1_000_000, MaxQty: 100_000_000, RefPrice: 127_000_000, BandBP: 100,
	}}
	for _, tc := range []struct{ msg, want string }{
		{"buy 5m cable at 1.27005", "order buy 5000000 GBP/USD limit 1.27005 day"},
		{"buy 5m gbpusd at 1.27003", "clarify off-tick"},
		{"buy 500k gbpusd at 1.27005", "clarify bad-size"},
		{"buy 5m usdcny at 7.1020", "clarify unknown-pair"},
		{"best bid sterling dollar", "question best-bid GBP/USD"},
	} {
		if got := render(Parse(tc.msg, ins)); got != tc.want {
			t.Errorf("Parse(%q) = %s, want %s", tc.msg, got, tc.want)
		}
	}
	// No reference price: nothing is "far", and a bare number with a
	// decimal point is taken for a price.
	ins[0].RefPrice, ins[0].BandBP = 0, 0
	if got, want := render(Parse("buy gbpusd 5 1.35000", ins)), "order buy 5000000 GBP/USD limit 1.35000 day"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// An instrument list without Base and Term (only the symbol) works the same.
func TestInstrumentsWithoutCurrencies(t *testing.T) {
	ins := demo()
	for i := range ins {
		ins[i].Base, ins[i].Term = "", ""
	}
	r := Parse("买入 500万 美元/人民币 7.1020", ins)
	if got, want := render(r), "order buy 5000000 USD/CNY limit 7.1020 day"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if !strings.Contains(r.Order.Confirm, "美元/人民币") {
		t.Fatalf("confirm %q", r.Order.Confirm)
	}
	if got := render(Parse("buy 5m cny/usd at 0.1408", ins)); got != "clarify inverted-pair" {
		t.Fatalf("got %s", got)
	}
}

func TestFarFromReferenceCarriesTheOrder(t *testing.T) {
	r := Parse("buy 5m usdcny at 7.2010", demo())
	if r.Kind != KindClarify || r.Clarify.Pending == nil {
		t.Fatalf("want a clarify with the pending order, got\n%s", dump(r))
	}
	if got, want := r.Clarify.Pending.Confirm, "Buy 5,000,000 USD/CNY at 7.2010, Day limit — confirm?"; got != want {
		t.Fatalf("Pending.Confirm = %q, want %q", got, want)
	}
	// The threshold is the parser's: off, or wider, the order parses.
	for _, far := range []int64{-1, 200} {
		p := Parser{Instruments: demo(), FarBP: far}
		if got := render(p.Parse("buy 5m usdcny at 7.2010")); got != "order buy 5000000 USD/CNY limit 7.2010 day" {
			t.Errorf("FarBP %d: got %s", far, got)
		}
	}
	// Tighter: 7.1100 is 14 bp from 7.1000.
	p := Parser{Instruments: demo(), FarBP: 10}
	if got := render(p.Parse("buy 5m usdcny at 7.1100")); got != "clarify far-from-reference" {
		t.Errorf("FarBP 10: got %s", got)
	}
}

func TestJSON(t *testing.T) {
	b, err := json.Marshal(Parse("buy 5m usdcny at 7.1020", demo()))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"order","lang":"en","order":{"side":1,"symbol":"USD/CNY","qty":5000000,"ord_type":2,"price":"7.1020","tif":0,"confirm":"Buy 5,000,000 USD/CNY at 7.1020, Day limit — confirm?"}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(Parse("buy 5m usdcny at 7.10205", demo()))
	want = `{"kind":"clarify","lang":"en","clarify":{"reason":"off-tick","question":"7.10205 isn't on the USD/CNY tick of 0.0001 — did you mean 7.1020 or 7.1021?"}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

// checkInvariants holds for every result: exactly one part set; an order
// is valid for its instrument (a whole number of lots within the limits, a
// limit price on the tick grid inside the band, market orders IOC or FOK
// without a price) and has a confirmation; a clarify has a question.
func checkInvariants(t *testing.T, msg string, ins []engine.Instrument, r Result) {
	t.Helper()
	set := 0
	for _, p := range []bool{r.Order != nil, r.Question != nil, r.Clarify != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		t.Fatalf("Parse(%q): %d parts set\n%s", msg, set, dump(r))
	}
	if r.Lang != "en" && r.Lang != "zh" {
		t.Fatalf("Parse(%q): lang %q", msg, r.Lang)
	}
	switch r.Kind {
	case KindOrder:
		checkOrder(t, msg, ins, r.Order)
	case KindQuestion:
		if r.Question == nil || r.Question.Kind < BestBid || r.Question.Kind > Depth || r.Question.Levels < 0 || r.Question.Levels > MaxDepthLevels {
			t.Fatalf("Parse(%q): bad question\n%s", msg, dump(r))
		}
		if findSym(ins, r.Question.Symbol) == nil {
			t.Fatalf("Parse(%q): unknown symbol %q", msg, r.Question.Symbol)
		}
	case KindClarify:
		if r.Clarify == nil || r.Clarify.Question == "" || r.Clarify.Reason == 0 {
			t.Fatalf("Parse(%q): empty clarify\n%s", msg, dump(r))
		}
		if r.Clarify.Pending != nil {
			checkOrder(t, msg, ins, r.Clarify.Pending)
		}
	default:
		t.Fatalf("Parse(%q): kind %d", msg, r.Kind)
	}
}

func findSym(ins []engine.Instrument, sym string) *engine.Instrument {
	for i := range ins {
		if ins[i].Symbol == sym {
			return &ins[i]
		}
	}
	return nil
}

func checkOrder(t *testing.T, msg string, ins []engine.Instrument, o *Order) {
	t.Helper()
	in := findSym(ins, o.Symbol)
	if in == nil {
		t.Fatalf("Parse(%q): order on unknown symbol %q", msg, o.Symbol)
	}
	if o.Side != engine.Buy && o.Side != engine.Sell {
		t.Fatalf("Parse(%q): side %d", msg, o.Side)
	}
	if o.Qty <= 0 || o.Qty%in.Lot != 0 || o.Qty < in.MinQty || o.Qty > in.MaxQty {
		t.Fatalf("Parse(%q): qty %d breaks the instrument's rules", msg, o.Qty)
	}
	switch o.OrdType {
	case engine.Market:
		if o.Price != "" || o.PriceFixed != 0 || (o.TIF != engine.IOC && o.TIF != engine.FOK) {
			t.Fatalf("Parse(%q): bad market order %+v", msg, o)
		}
	case engine.Limit:
		p, err := engine.ParsePrice(o.Price)
		if err != nil || p != o.PriceFixed || p <= 0 || p%in.Tick != 0 {
			t.Fatalf("Parse(%q): price %q (%d) not exact on tick %d", msg, o.Price, o.PriceFixed, in.Tick)
		}
		if in.RefPrice > 0 && in.BandBP > 0 {
			d := int64(p - in.RefPrice)
			if d < 0 {
				d = -d
			}
			if float64(d) > float64(in.RefPrice)*float64(in.BandBP)/10000 {
				t.Fatalf("Parse(%q): price %s outside the band", msg, o.Price)
			}
		}
		if o.TIF != engine.Day && o.TIF != engine.GTC && o.TIF != engine.IOC && o.TIF != engine.FOK {
			t.Fatalf("Parse(%q): tif %d", msg, o.TIF)
		}
	default:
		t.Fatalf("Parse(%q): ord type %d", msg, o.OrdType)
	}
	if o.Confirm == "" || !strings.Contains(o.Confirm, o.Symbol) {
		t.Fatalf("Parse(%q): confirmation %q", msg, o.Confirm)
	}
}

// TestResultJSONRoundTrip: a Result written as JSON (the assistant's chat
// endpoint) reads back into the same Result.
func TestResultJSONRoundTrip(t *testing.T) {
	for _, msg := range []string{"buy 5m usdcny at 7.1020", "depth eur/usd", "buy usdcny", "sell 1m usdcny at 7.5000"} {
		r := Parse(msg, demo())
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Result
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q: %s: %v", msg, b, err)
		}
		b2, _ := json.Marshal(back)
		if string(b) != string(b2) {
			t.Errorf("%q: %s read back as %s", msg, b, b2)
		}
	}
	var k Kind
	if err := json.Unmarshal([]byte(`"sideways"`), &k); err == nil {
		t.Error("an unknown kind was read")
	}
}

package chat_test

import (
	"fmt"

	"fxmatch/assistant/chat"
	"fxmatch/engine"
)

func Example() {
	instruments := []engine.Instrument{
		{Symbol: "USD/CNY", Base: "USD", Term: "CNY", Tick: 10_000, Lot: 100_000,
			MinQty: 100_000, MaxQty: 500_000_000, RefPrice: 710_000_000, BandBP: 200},
	}
	for _, msg := range []string{
		"buy 5m usdcny at 7.1020",
		"买入 500万 美元/人民币 7.1020",
		"best bid usdcny",
		"sell 5m usdcny at 7.10205",
		"buy 5m usdcny at 7.2010",
	} {
		r := chat.Parse(msg, instruments)
		switch r.Kind {
		case chat.KindOrder:
			fmt.Println(r.Order.Confirm)
		case chat.KindQuestion:
			fmt.Println(r.Question.Kind, r.Question.Symbol)
		default:
			fmt.Println(r.Clarify.Reason, "—", r.Clarify.Question)
		}
	}
	// Output:
	// Buy 5,000,000 USD/CNY at 7.1020, Day limit — confirm?
	// 买入 5,000,000 美元/人民币（USD/CNY），限价 7.1020，当日有效 — 确认吗？
	// best-bid USD/CNY
	// off-tick — 7.10205 isn't on the USD/CNY tick of 0.0001 — did you mean 7.1020 or 7.1021?
	// far-from-reference — 7.2010 is 1.42% above the USD/CNY reference price 7.1000 — is that right, or a typo? If it is right: Buy 5,000,000 USD/CNY at 7.2010, Day limit — confirm?
}

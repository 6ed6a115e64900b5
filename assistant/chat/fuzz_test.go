package chat

import (
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary bytes to the parser: it must never panic, and
// whatever it returns must satisfy checkInvariants (an order it returns is
// always one the venue's rules allow).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"buy 5m usdcny at 7.1020", "sell 10 yards eur/usd 1.0815 ioc", "bid 3 usd/jpy 150.12",
		"买入 500万 美元/人民币 7.1020", "卖出 1000万 欧元兑美元 1.0815", "best bid usdcny",
		"depth eur/usd", "最优买价 美元人民币", "买入一千五百万美元人民币7.1020", "depth 5 usdjpy",
		"buy 1,000,000.5 usdcny @ .5", "五百万亿亿亿", "sell 0.25bn fiber mkt fok?", "ｂｕｙ　５ｍ",
		"buy 99999999999999999 usdcny at 7.99999999", "买一价卖一价", "1,5m", "- / @ ? .", "\xff\xfe",
	} {
		f.Add(s)
	}
	ins := demo()
	f.Fuzz(func(t *testing.T, msg string) {
		r := Parse(msg, ins)
		checkInvariants(t, msg, ins, r)
		if r.Clarify != nil && !utf8.ValidString(r.Clarify.Question) && utf8.ValidString(msg) {
			t.Fatalf("Parse(%q): question is not valid UTF-8", msg)
		}
	})
}

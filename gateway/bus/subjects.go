package bus

import "strings"

// The subjects of the venue's bus: the one place the rest of the code (the
// gateway, the assistant, tests) takes them from. <SYM> is the symbol code
// (wire.SymbolCode: "USDCNY"), <PARTY> and <BROKER> a participant's CompID.
// Every payload is JSON (gateway/wire and the assistant's documents).
const (
	// Prefix is the first token of every venue subject.
	Prefix = "fxmatch"

	// MDAll, TradesAll, ExecAll, RiskAlertsAll and QuotesAll match every
	// subject of their kind (for subscriptions and permissions).
	MDAll         = "fxmatch.md.>"
	TradesAll     = "fxmatch.trades.>"
	ExecAll       = "fxmatch.exec.>"
	RiskAlertsAll = "fxmatch.risk.alerts.>"
	QuotesAll     = "fxmatch.quotes.>"

	// AssistantService is the name of the assistant's NATS micro service,
	// and AssistantScore, AssistantRecommend and AssistantChat its
	// endpoints' subjects (request-reply). Participants may request
	// recommend and chat; score is the venue's (pre-trade scoring).
	AssistantService   = "fxmatch-assistant"
	AssistantAll       = "fxmatch.assistant.>"
	AssistantScore     = "fxmatch.assistant.score"
	AssistantRecommend = "fxmatch.assistant.recommend"
	AssistantChat      = "fxmatch.assistant.chat"

	// InboxRoot is the first token of reply subjects. A participant may
	// only subscribe below its own InboxPrefix (see there).
	InboxRoot = "_INBOX"
)

// MDSubject is where instrument code's L2 book is published
// ("fxmatch.md.USDCNY"): a wire.Book of the top wire.BookDepth levels
// after each batch of commands that changed a level.
func MDSubject(code string) string { return "fxmatch.md." + code }

// TradesSubject is where instrument code's public trades are published
// ("fxmatch.trades.USDCNY"): a wire.Trade each.
func TradesSubject(code string) string { return "fxmatch.trades." + code }

// ExecSubject is where participant party's execution events are published
// ("fxmatch.exec.BANKA"): a wire.ExecEvent each.
func ExecSubject(party string) string { return "fxmatch.exec." + party }

// RiskAlertSubject is where risk alerts about participant party's flow are
// published ("fxmatch.risk.alerts.BANKA").
func RiskAlertSubject(party string) string { return "fxmatch.risk.alerts." + party }

// QuoteSubject is where the assistant publishes its recommendation for
// broker's listing of instrument code ("fxmatch.quotes.BROKER1.USDCNY").
func QuoteSubject(broker, code string) string { return "fxmatch.quotes." + broker + "." + code }

// QuotesFor matches every recommendation for broker
// ("fxmatch.quotes.BROKER1.>").
func QuotesFor(broker string) string { return "fxmatch.quotes." + broker + ".>" }

// InboxPrefix is the reply-subject prefix participant party must use for
// its requests ("_INBOX.BANKA"; with nats.go:
// nats.CustomInboxPrefix(bus.InboxPrefix("BANKA"))). A participant may
// subscribe only below its own prefix, so no participant can read the
// replies another receives; and so the assistant knows who asks: the
// participant that can read a reply is the one its reply subject names
// (RequesterOf).
func InboxPrefix(party string) string { return InboxRoot + "." + party }

// RequesterOf returns the participant whose inbox a reply subject is in
// ("_INBOX.BANKA.x.y" → "BANKA"), or false for any other subject (the
// venue's and the assistant's own inboxes have no participant: their
// second token is a random id, which is no CompID in use). Only the
// embedded server's permissions, or an external server's that follow
// the documented ones, make this a proof of identity.
func RequesterOf(reply string, isParty func(string) bool) (string, bool) {
	rest, ok := strings.CutPrefix(reply, InboxRoot+".")
	if !ok {
		return "", false
	}
	party, _, ok := strings.Cut(rest, ".")
	if !ok || party == "" || !isParty(party) {
		return "", false
	}
	return party, true
}

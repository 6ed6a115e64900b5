package bus

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats-server/v2/server"

	"fxmatch/config"
)

// The embedded server's internal users. Their names start with "_", which
// no CompID may (config's CompID rule), so a participant can never be
// confused with them; their passwords are random per run.
const (
	userVenue     = "_venue"
	userAssistant = "_assistant"
	// inbox prefixes of the internal connections: below InboxRoot, but
	// never a participant's (CompIDs do not start with "_").
	inboxVenue     = InboxRoot + "._venue"
	inboxAssistant = InboxRoot + "._assistant"
)

// ParticipantPermissions is what participant p may do on the bus:
//
//	subscribe  fxmatch.md.>, fxmatch.trades.>          public market data
//	           fxmatch.exec.<ID>                       its own executions
//	           fxmatch.exec.<X> for each X in its drop_copy ("*": all),
//	                                                   as on FIX
//	           fxmatch.risk.alerts.<ID>                alerts on its own flow
//	           fxmatch.quotes.<ID>.>                   recommendations for it
//	           _INBOX.<ID>.>                           replies to its requests
//	publish    fxmatch.assistant.recommend,
//	           fxmatch.assistant.chat                  requests, nothing else
func ParticipantPermissions(p *config.Participant) *server.Permissions {
	sub := []string{MDAll, TradesAll, ExecSubject(p.ID), RiskAlertSubject(p.ID), QuotesFor(p.ID), InboxPrefix(p.ID) + ".>"}
	for _, dc := range p.DropCopy {
		if dc == "*" {
			sub = append(sub, ExecAll)
		} else if dc != p.ID {
			sub = append(sub, ExecSubject(dc))
		}
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: []string{AssistantRecommend, AssistantChat}},
		Subscribe: &server.SubjectPermission{Allow: sub},
	}
}

// VenuePermissions is what the venue's own connection needs: publish
// every venue subject, ask the assistant (score) and discover it ($SRV),
// and subscribe to the venue's subjects (the gateway fans them out to
// WebSocket clients) and to its replies.
func VenuePermissions() *server.Permissions {
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: []string{Prefix + ".>", "$SRV.>"}},
		Subscribe: &server.SubjectPermission{Allow: []string{Prefix + ".>", inboxVenue + ".>"}},
	}
}

// AssistantPermissions is what the assistant needs: serve its endpoints
// (subscribe fxmatch.assistant.>, answer on the requesters' reply
// subjects, which are under _INBOX), answer service discovery ($SRV.>),
// read the venue's events (its profiles are built from them), and publish
// quotes and risk alerts. Deliberately no allow_responses: with it a
// participant could name fxmatch.exec.<another> as its reply subject and
// have the assistant publish a forged execution event there.
func AssistantPermissions() *server.Permissions {
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{QuotesAll, RiskAlertsAll, "$SRV.>", InboxRoot + ".>"}},
		Subscribe: &server.SubjectPermission{Allow: []string{
			AssistantAll, MDAll, TradesAll, ExecAll, RiskAlertsAll, QuotesAll, "$SRV.>", inboxAssistant + ".>",
		}},
	}
}

// users is the embedded server's user list: one per participant (user =
// CompID, password = its bcrypt hash from the configuration, which
// nats-server compares as bcrypt), the two internal users, and the
// standalone assistant's user if [nats] assistant_password_hash is set.
func users(cfg *config.Config, venuePW, assistantPW string) []*server.User {
	us := make([]*server.User, 0, len(cfg.Participants)+2)
	for i := range cfg.Participants {
		p := &cfg.Participants[i]
		us = append(us, &server.User{Username: p.ID, Password: p.PasswordHash, Permissions: ParticipantPermissions(p)})
	}
	us = append(us,
		&server.User{Username: userVenue, Password: venuePW, Permissions: VenuePermissions()},
		&server.User{Username: userAssistant, Password: assistantPW, Permissions: AssistantPermissions()},
	)
	if h := cfg.NATS.AssistantPasswordHash; h != "" {
		// A standalone `fxmatch assistant` logs on over TCP with this.
		us = append(us, &server.User{Username: cfg.NATS.AssistantName(), Password: h, Permissions: AssistantPermissions()})
	}
	return us
}

// ServerConfig writes a nats-server configuration file that grants
// exactly the documented permissions, for an operator who runs NATS
// outside the venue (`fxmatch config nats-server`). Participants log on
// with their CompID and venue password (the bcrypt hashes are copied from
// the venue's configuration); venueUser and assistantUser get the
// internal permissions, with the bcrypt hashes given (the passwords
// themselves go in the files named by [nats] password_file and
// assistant_password_file; a standalone `fxmatch assistant` uses the
// assistant's user too).
func ServerConfig(cfg *config.Config, listen, venueUser, venueHash, assistantUser, assistantHash string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# nats-server configuration for fxmatch: one user per participant\n")
	fmt.Fprintf(&b, "# (user = CompID, password = its venue password) and the venue's and the\n")
	fmt.Fprintf(&b, "# assistant's own users. Generated by `fxmatch config nats-server`.\n")
	fmt.Fprintf(&b, "listen: %q\n", listen)
	fmt.Fprintf(&b, "max_payload: %d\nmax_pending: %d\nmax_connections: %d\nwrite_deadline: %q\n\n", MaxPayload, MaxPending, MaxConnections, WriteDeadline.String())
	b.WriteString("authorization {\n  users: [\n")
	for i := range cfg.Participants {
		p := &cfg.Participants[i]
		writeUser(&b, p.ID, p.PasswordHash, ParticipantPermissions(p))
	}
	writeUser(&b, venueUser, venueHash, VenuePermissions())
	writeUser(&b, assistantUser, assistantHash, AssistantPermissions())
	b.WriteString("  ]\n}\n")
	return []byte(b.String())
}

func writeUser(b *strings.Builder, user, hash string, p *server.Permissions) {
	list := func(s []string) string {
		q := make([]string, len(s))
		for i := range s {
			q[i] = fmt.Sprintf("%q", s[i])
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	fmt.Fprintf(b, "    {\n      user: %q\n      password: %q\n      permissions: {\n", user, hash)
	fmt.Fprintf(b, "        publish: { allow: %s }\n", list(p.Publish.Allow))
	fmt.Fprintf(b, "        subscribe: { allow: %s }\n", list(p.Subscribe.Allow))
	if p.Response != nil {
		fmt.Fprintf(b, "        allow_responses: { max: %d }\n", p.Response.MaxMsgs)
	}
	b.WriteString("      }\n    }\n")
}

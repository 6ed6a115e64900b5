package fix

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/quickfixgo/quickfix"
)

// logFactory sends quickfixgo's session events to slog. Messages in and
// out are not logged (the journal is the record of business; a copy of
// every message would cost more than the matching). Events that report a
// problem go out at Info, the chatter at Debug. Passwords are masked:
// quickfixgo quotes the raw bytes of a message it could not parse, which
// may be a Logon.
type logFactory struct{ l *slog.Logger }

func (f logFactory) Create() (quickfix.Log, error) { return qfLog{f.l, ""}, nil }

func (f logFactory) CreateSessionLog(id quickfix.SessionID) (quickfix.Log, error) {
	return qfLog{f.l, id.TargetCompID}, nil
}

type qfLog struct {
	l    *slog.Logger
	comp string
}

var passwordRE = regexp.MustCompile(`554=[^\x01|]*`)

func (q qfLog) OnIncoming([]byte) {}
func (q qfLog) OnOutgoing([]byte) {}

func (q qfLog) OnEvent(s string) {
	s = passwordRE.ReplaceAllString(s, "554=***")
	level := slog.LevelDebug
	for _, w := range []string{"rror", "nvalid", "ejected", "too low", "too high", "Panic", "Unable", "not found", "failed"} {
		if strings.Contains(s, w) {
			level = slog.LevelInfo
			break
		}
	}
	q.l.Log(context.Background(), level, "fix: quickfix: "+s, "comp_id", q.comp)
}

func (q qfLog) OnEventf(format string, args ...any) { q.OnEvent(fmt.Sprintf(format, args...)) }

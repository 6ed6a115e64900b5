package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"fxmatch/assistant/service"
	"fxmatch/gateway/bus"
	"fxmatch/journal"
)

const assistantUsage = `usage: fxmatch assistant --nats-url URL [flags]

Runs the trading assistant alone: the NATS micro service fxmatch-assistant
(endpoints fxmatch.assistant.score, .recommend, .chat), fed from the venue's
market data, trades and execution events on the bus, publishing brokers'
quote recommendations on fxmatch.quotes.<BROKER>.<SYM>. The venue finds it
by its subjects, exactly as it finds the one fxmatch serve runs in-process
(start the venue with --no-assistant so that only this one answers).

Flags:
  --nats-url URL         the NATS server (required), e.g. nats://127.0.0.1:4222
  --user U               NATS user (the assistant's user of the venue's NATS setup)
  --password-file F      file holding the user's password (one line)
  --config FILE          the venue's configuration: instruments, brokers
                         (default: the built-in demo configuration)
  --journal DIR          rebuild the fraud profiles and brokers' inventories from
                         a journal first: a checkpoint of the running venue
                         (SIGUSR1 makes one) or a stopped venue's <data>/journal
  --quote-interval D     least time between two quote publications per broker
                         and pair (default 250ms)
`

type assistantFlags struct {
	natsURL, user, passwordFile, configFile, journalDir string
	quoteInterval                                       time.Duration
}

func parseAssistantFlags(args []string, stderr io.Writer) (assistantFlags, int, bool) {
	var f assistantFlags
	fs := flag.NewFlagSet("fxmatch assistant", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, "\n"+assistantUsage) }
	fs.StringVar(&f.natsURL, "nats-url", "", "NATS server URL")
	fs.StringVar(&f.user, "user", "", "NATS user")
	fs.StringVar(&f.passwordFile, "password-file", "", "file holding the NATS password")
	fs.StringVar(&f.configFile, "config", "", "the venue's configuration file")
	fs.StringVar(&f.journalDir, "journal", "", "journal directory to rebuild the profiles from")
	fs.DurationVar(&f.quoteInterval, "quote-interval", 250*time.Millisecond, "least time between quote publications per broker and pair")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, exitOK, false
		}
		return f, exitUsage, false
	}
	bad := func(format string, a ...any) (assistantFlags, int, bool) {
		fmt.Fprintf(stderr, "fxmatch assistant: "+format+"\n\n", a...)
		fmt.Fprint(stderr, assistantUsage)
		return f, exitUsage, false
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q (flags only)", fs.Arg(0))
	case f.natsURL == "":
		return bad("--nats-url is required (the venue's NATS server, e.g. nats://127.0.0.1:4222)")
	case (f.user == "") != (f.passwordFile == ""):
		return bad("--user and --password-file go together")
	case f.quoteInterval < 10*time.Millisecond || f.quoteInterval > time.Hour:
		return bad("--quote-interval %v: want 10ms to 1h", f.quoteInterval)
	}
	return f, exitOK, true
}

// runAssistant is `fxmatch assistant`: the assistant alone, until ctx
// ends.
func runAssistant(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, code, ok := parseAssistantFlags(args, stderr)
	if !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fxmatch assistant: "+format+"\n", a...)
		return exitFail
	}
	cfg, err := loadConfigOrDemo(f.configFile)
	if err != nil {
		return fail("%v", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	opts := service.Options{Logger: logger, QuoteInterval: f.quoteInterval}
	if err := service.FromConfig(cfg, &opts); err != nil {
		return fail("%v", err)
	}
	svc, err := service.New(opts)
	if err != nil {
		return fail("%v", err)
	}
	if f.journalDir != "" {
		r, err := journal.OpenReader(f.journalDir, journal.ReaderOptions{})
		if err != nil {
			return fail("%v (a running venue holds its journal: give a checkpoint, made by SIGUSR1)", err)
		}
		st, err := svc.Rebuild(cfg, r, service.RebuildOptions{})
		r.Close()
		if err != nil {
			return fail("rebuild from %s: %v", f.journalDir, err)
		}
		fmt.Fprintf(stdout, "fxmatch assistant: rebuilt %d profiles from %s: %d orders, %d fills, %d cancels since %s (%v)\n",
			st.Accounts, f.journalDir, st.Orders, st.Fills, st.Cancels, st.From.UTC().Format(time.RFC3339), st.Took.Round(time.Millisecond))
	}
	nopts := []nats.Option{
		nats.Name("fxmatch-assistant"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { logger.Warn("assistant: NATS disconnected", "err", err) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { logger.Info("assistant: NATS reconnected", "url", nc.ConnectedUrlRedacted()) }),
	}
	if f.user != "" {
		pw, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return fail("--password-file: %v", err)
		}
		nopts = append(nopts, nats.UserInfo(f.user, strings.TrimRight(string(pw), "\r\n")))
	}
	nc, err := nats.Connect(f.natsURL, nopts...)
	if err != nil {
		return fail("NATS %s: %v", f.natsURL, err)
	}
	defer nc.Close()
	svc.SetConn(nc)
	if err := svc.Start(); err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stdout, "fxmatch assistant: serving %s (%s, %s, %s) on %s for %d instruments, quotes for %s; stop with Ctrl-C\n",
		bus.AssistantService, bus.AssistantScore, bus.AssistantRecommend, bus.AssistantChat, f.natsURL,
		len(opts.Instruments), strings.Join(opts.Brokers, " "))
	<-ctx.Done()
	svc.Stop()
	fmt.Fprintln(stdout, "fxmatch assistant: stopped")
	return exitOK
}

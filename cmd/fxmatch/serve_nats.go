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

	"golang.org/x/crypto/bcrypt"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/gateway/bus"
)

// startNATS brings up the venue's NATS bus: the embedded server on
// listen.nats, or the connection to [nats] url / --nats-url. It runs
// before the venue so that the bus misses no event, and it is closed after
// the venue's Run has returned (every durable event published) and after
// the gateway and the assistant, which use its connections, have stopped.
func startNATS(ctx context.Context, v *venue.Venue, cfg *config.Config, logger *slog.Logger) (*bus.Bus, error) {
	b, err := bus.Start(ctx, v, cfg, bus.Options{Logger: logger})
	if err != nil {
		if cfg.NATS.External() {
			return nil, fmt.Errorf("NATS %s: %w", cfg.NATS.URL, err)
		}
		return nil, fmt.Errorf("NATS listener %s: %w", cfg.Listen.NATS, err)
	}
	return b, nil
}

// natsBanner is the banner's NATS line: where clients connect and how.
func natsBanner(b *bus.Bus) string {
	if b.Embedded() {
		return b.ClientURL() + "  embedded (participants: user=CompID, password as on FIX; subjects fxmatch.md|trades|exec.>)"
	}
	state := "connected"
	if !b.Stats().Connected {
		state = "NOT connected yet: retrying in the background, matching goes on"
	}
	return "external " + b.ClientURL() + " (" + state + ")"
}

// configNATSServer runs `fxmatch config nats-server`: it prints a
// nats-server configuration that grants the venue's documented
// permissions (gateway/bus), for an operator running NATS outside the
// venue. The venue's and the assistant's passwords are read from files
// (by default those [nats] names) and written only as bcrypt hashes.
func configNATSServer(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fxmatch config nats-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "the venue's configuration file (default: the demo)")
	listen := fs.String("listen", "0.0.0.0:4222", "the NATS server's client listen address")
	venueUser := fs.String("venue-user", "", "the venue's NATS user (default: [nats] user, else \"venue\")")
	venuePW := fs.String("venue-password-file", "", "file holding the venue's NATS password (default: [nats] password_file)")
	asUser := fs.String("assistant-user", "", "the assistant's NATS user (default: [nats] assistant_user, else \"assistant\")")
	asPW := fs.String("assistant-password-file", "", "file holding the assistant's NATS password (default: [nats] assistant_password_file)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: fxmatch config nats-server [flags] > nats.conf")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "config nats-server: unexpected argument %q (flags only)", fs.Arg(0))
	}
	cfg, err := loadConfigOrDemo(*configFile)
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch: %v\n", err)
		return exitFail
	}
	pick := func(flagValue, cfgValue, def string) string {
		switch {
		case flagValue != "":
			return flagValue
		case cfgValue != "":
			return cfgValue
		}
		return def
	}
	vu, au := pick(*venueUser, cfg.NATS.User, "venue"), pick(*asUser, cfg.NATS.AssistantUser, "assistant")
	hashOf := func(what, file string) (string, bool) {
		if file == "" {
			fmt.Fprintf(stderr, "fxmatch: config nats-server: no password file for the %s's user: give --%s-password-file (or set it in [nats])\n", what, what)
			return "", false
		}
		data, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch: config nats-server: %s password file: %v\n", what, err)
			return "", false
		}
		pw, _, _ := strings.Cut(string(data), "\n")
		pw = strings.TrimRight(pw, "\r")
		if len(pw) < 12 {
			fmt.Fprintf(stderr, "fxmatch: config nats-server: the %s's password in %s is shorter than 12 characters\n", what, file)
			return "", false
		}
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch: config nats-server: %s password in %s: %v\n", what, file, err)
			return "", false
		}
		return string(h), true
	}
	vh, ok := hashOf("venue", pick(*venuePW, cfg.NATS.PasswordFile, ""))
	if !ok {
		return exitFail
	}
	ah, ok := hashOf("assistant", pick(*asPW, cfg.NATS.AssistantPasswordFile, ""))
	if !ok {
		return exitFail
	}
	if _, err := stdout.Write(bus.ServerConfig(cfg, *listen, vu, vh, au, ah)); err != nil {
		fmt.Fprintf(stderr, "fxmatch: %v\n", err)
		return exitFail
	}
	return exitOK
}

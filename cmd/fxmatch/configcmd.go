package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"fxmatch/config"
)

// runConfig runs `fxmatch config SUBCOMMAND`.
func runConfig(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return usageError(stderr, "config: missing subcommand (example, check FILE, hash-password, hash-token or nats-server)")
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "example":
		if len(rest) > 0 {
			return usageError(stderr, "config example: unexpected argument %q", rest[0])
		}
		if _, err := stdout.Write(config.Example()); err != nil {
			fmt.Fprintf(stderr, "fxmatch: %v\n", err)
			return exitFail
		}
		return exitOK
	case "check":
		if len(rest) != 1 {
			return usageError(stderr, "config check: want exactly one FILE, got %d arguments", len(rest))
		}
		return configCheck(rest[0], stdout, stderr)
	case "hash-password":
		if len(rest) > 0 {
			return usageError(stderr, "config hash-password: unexpected argument %q (the password is read from standard input, so it stays out of the shell history)", rest[0])
		}
		return hashPassword(stdin, stdout, stderr)
	case "nats-server":
		return configNATSServer(rest, stdout, stderr) // serve_nats.go
	case "hash-token":
		if len(rest) > 0 {
			return usageError(stderr, "config hash-token: unexpected argument %q (it makes a fresh random token; it takes none)", rest[0])
		}
		tok, hash, err := config.NewAPIToken()
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "token           %s\napi_token_hash  %s\n", tok, hash)
		fmt.Fprintln(stderr, "fxmatch: give the token to the participant (it is shown once) and put the hash in its [[participant]] api_token_hash")
		return exitOK
	default:
		return usageError(stderr, "config: unknown subcommand %q (want example, check, hash-password, hash-token or nats-server)", sub)
	}
}

// loadConfigOrDemo is the configuration a command runs on: the file
// named by its --config flag, or the built-in demo when none is named.
func loadConfigOrDemo(file string) (*config.Config, error) {
	if file == "" {
		return config.Demo(), nil
	}
	return config.Load(file)
}

// configCheck loads and validates a file, applies serve's listener policy
// to it (a file that serve would refuse is not "checked"), and prints a
// summary an operator can compare with what they meant to write.
func configCheck(path string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(path)
	if err == nil {
		err = cfg.CheckListeners()
	}
	if err == nil {
		_, err = cfg.FIXTLS() // the files must be readable and a pair, as serve needs them
	}
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch: %v\n", err)
		return exitFail
	}
	w := stdout
	fmt.Fprintf(w, "%s: valid\n", path)
	fmt.Fprintf(w, "  venue         roll %s %s; durability %s; data dir %s\n", cfg.Venue.RollTime, cfg.Venue.RollZone, cfg.Venue.Durability, cfg.Venue.DataDir)
	if cfg.Venue.TradeDate != "" {
		fmt.Fprintf(w, "  trade date    %s (fixed by venue.trade_date)\n", cfg.Venue.TradeDate)
	}
	fmt.Fprintf(w, "  listen        FIX %s (%s), HTTP %s, NATS %s\n", cfg.Listen.FIX, cfg.FIXTLSSummary(), cfg.Listen.HTTP, cfg.Listen.NATS)
	fmt.Fprintf(w, "  participants  %d: %s\n", len(cfg.Participants), participantSummary(cfg))
	fmt.Fprintf(w, "  credit lines  %d\n", len(cfg.Credit))
	for _, l := range cfg.Credit {
		fmt.Fprintf(w, "    %-22s %s USD\n", strings.Join(l.Between, "-"), groupDigits(l.LimitUSD))
	}
	fmt.Fprintf(w, "  instruments   %d\n", len(cfg.Instruments))
	for _, in := range cfg.Instruments {
		shard, _ := cfg.ShardOf(in.Symbol)
		fmt.Fprintf(w, "    %-8s tick %s, lot %s, qty %s to %s, ref %s, band ±%s%%, shard %d\n",
			in.Symbol, in.Tick, groupDigits(in.Lot), groupDigits(in.QtyMin), groupDigits(in.QtyMax), in.RefPrice, in.BandPercent, shard)
	}
	if len(cfg.Holidays) > 0 {
		fmt.Fprintf(w, "  holidays      %d currencies\n", len(cfg.Holidays))
	}
	fmt.Fprintf(w, "  shards        %d\n", len(cfg.Shards))
	if n := len(cfg.Shards); n > 1 {
		fmt.Fprintf(w, "  note          with %d shards each shard gets 1/%d of every credit line\n", n, n)
	}
	return exitOK
}

// hashPassword reads one line from stdin and prints its bcrypt hash.
func hashPassword(stdin io.Reader, stdout, stderr io.Writer) int {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		fmt.Fprintf(stderr, "fxmatch: reading the password: %v\n", err)
		return exitFail
	}
	password := strings.TrimRight(line, "\r\n")
	h, err := config.HashPassword(password)
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch: %v\n", err)
		return exitFail
	}
	fmt.Fprintln(stdout, h)
	return exitOK
}

// groupDigits writes n with thousands separators (5,000,000,000), as the
// Rules of Engagement write amounts.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

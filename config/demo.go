package config

// DemoPasswordHash is a bcrypt hash of the demo password "demo". It uses
// bcrypt's minimum cost (4) on purpose: the password is public, so a higher
// cost would protect nothing and would only slow down every demo logon and
// every test that logs on. Real passwords get the default cost from
// HashPassword.
const DemoPasswordHash = "$2a$04$NYOiaSF7Njpfv1bDoMjg8.tqTRU5M.kqXZc2aJg/A1tcZ0kmYSmsO"

// DemoPassword is the password of every demo participant.
const DemoPassword = "demo"

// Demo returns the built-in demo configuration, exactly as sections 1 and 2
// of the FIX Rules of Engagement define it: banks BANKA, BANKB and BANKC,
// broker BROKER1 and a read-only REGULATOR with a drop copy of everyone,
// password "demo" each; 5,000,000,000 USD of credit between every pair of
// the banks and BROKER1 except BANKA–BANKC (0); BANKC cancels on
// disconnect; 50,000 messages a second per session; four instruments with
// a lot (and minimum) of 100,000, a maximum of 500,000,000 and a ±2% band.
// Every call returns a fresh copy the caller may change.
//
// Example() is this configuration written out as a file; keep the two in
// step (TestExampleIsDemo).
func Demo() *Config {
	const (
		throttle = 50_000
		credit   = 5_000_000_000
	)
	p := func(id, role string, cod bool, dropCopy ...string) Participant {
		return Participant{
			ID: id, Role: role, PasswordHash: DemoPasswordHash, SMP: "cancel-resting",
			CancelOnDisconnect: cod, ThrottlePerSecond: throttle, DropCopy: dropCopy,
		}
	}
	in := func(sym, tick, ref string) Instrument {
		return Instrument{
			Symbol: sym, Tick: MustDecimal(tick), Lot: 100_000, QtyMin: 100_000, QtyMax: 500_000_000,
			RefPrice: MustDecimal(ref), BandPercent: MustDecimal("2"),
		}
	}
	line := func(a, b string, limit int64) CreditLine {
		return CreditLine{Between: []string{a, b}, LimitUSD: limit}
	}
	return &Config{
		Venue: Venue{
			RollTime:             DefaultRollTime,
			RollZone:             DefaultRollZone,
			Durability:           DurabilitySync,
			DataDir:              DefaultDataDir,
			LiveOrdersMax:        DefaultLiveOrdersMax,
			OrdersPerDayExpected: DefaultOrdersPerDayExpected,
		},
		Listen: Listen{FIX: DefaultFIXAddr, HTTP: DefaultHTTPAddr, NATS: DefaultNATSAddr},
		Participants: []Participant{
			p("BANKA", RoleBank, false),
			p("BANKB", RoleBank, false),
			p("BANKC", RoleBank, true),
			p("BROKER1", RoleBroker, false),
			p("REGULATOR", RoleRegulator, false, "*"),
		},
		Credit: []CreditLine{
			line("BANKA", "BANKB", credit),
			line("BANKA", "BANKC", 0),
			line("BANKA", "BROKER1", credit),
			line("BANKB", "BANKC", credit),
			line("BANKB", "BROKER1", credit),
			line("BANKC", "BROKER1", credit),
		},
		Instruments: []Instrument{
			in("USD/CNY", "0.0001", "7.1000"),
			in("EUR/USD", "0.00001", "1.0800"),
			in("USD/JPY", "0.001", "150.000"),
			in("EUR/CNY", "0.0001", "7.7000"),
		},
		Shards: []Shard{{Instruments: []string{"USD/CNY", "EUR/USD", "USD/JPY", "EUR/CNY"}}},
	}
}

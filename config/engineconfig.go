package config

import (
	"fmt"

	"fxmatch/engine"
)

// PartyID is the engine's PartyID of participant id: its 1-based position
// in the file. The numbering is the same in every shard, so a PartyID means
// one firm everywhere (events, drop copies, the journal). Reordering the
// participants of a configuration therefore renumbers them: append new
// participants at the end of the file.
func (c *Config) PartyID(id string) (engine.PartyID, bool) {
	for i := range c.Participants {
		if c.Participants[i].ID == id {
			return engine.PartyID(i + 1), true
		}
	}
	return engine.NoParty, false
}

// ShardOf is the index of the shard that runs instrument sym.
func (c *Config) ShardOf(sym string) (int, bool) {
	for i, sh := range c.Shards {
		for _, s := range sh.Instruments {
			if s == sym {
				return i, true
			}
		}
	}
	return 0, false
}

// EngineConfig is the engine configuration of shard number shard (0-based,
// as in the file) starting on tradeDate: every participant, numbered as
// PartyID numbers them; the shard's instruments, in the shard's order, with
// prices converted exactly; the credit lines; the holiday calendars.
//
// Credit with several shards: each shard gets an equal share of every
// line (the first limit%n shards one USD more, so the shares add up to the
// line exactly). The reason is that credit is checked and consumed inside
// the matching engine, on the matching path, and each shard's engine sees
// only its own fills; giving every shard the whole line would let n shards
// together lend n times the limit. The cost is that a pair can exhaust one
// shard's share while another's is unused. That is the honest interim
// until a central credit service hands out credit to shards on demand.
// With one shard (the default) the line is the whole limit.
func (c *Config) EngineConfig(shard int, tradeDate engine.Date) (engine.Config, error) {
	if err := c.Validate(); err != nil {
		return engine.Config{}, err
	}
	if shard < 0 || shard >= len(c.Shards) {
		return engine.Config{}, fmt.Errorf("config: shard %d does not exist (the configuration has %d)", shard, len(c.Shards))
	}
	if !tradeDate.Valid() {
		return engine.Config{}, fmt.Errorf("config: trade date %d is not a valid YYYYMMDD date", tradeDate)
	}
	ec := engine.Config{
		Shard:                uint16(shard),
		Participants:         make([]engine.Participant, 1, len(c.Participants)+1),
		TradeDate:            tradeDate,
		MaxLiveOrders:        c.Venue.LiveOrdersMax,
		ExpectedOrdersPerDay: c.Venue.OrdersPerDayExpected,
	}
	for i := range c.Participants {
		p := &c.Participants[i]
		smp, err := engine.ParseSMPMode(p.SMP)
		if err != nil {
			panic(fmt.Sprintf("config: participant[%d].smp %q passed Validate: %v", i, p.SMP, err))
		}
		ec.Participants = append(ec.Participants, engine.Participant{Name: p.ID, CanTrade: p.CanTrade(), SMP: smp})
	}
	for _, sym := range c.Shards[shard].Instruments {
		in := &c.Instruments[c.instrumentIndex(sym)]
		ei := engine.Instrument{
			Symbol: in.Symbol, Base: in.Base(), Term: in.Term(),
			Lot: engine.Qty(in.Lot), MinQty: engine.Qty(in.QtyMin), MaxQty: engine.Qty(in.QtyMax),
		}
		// Validate has converted each of these already; a message here
		// would mean Validate and EngineConfig disagree.
		var msgs [4]string
		ei.Tick, msgs[0] = in.Tick.Price()
		ei.RefPrice, msgs[1] = in.RefPrice.Price()
		ei.BandBP, msgs[2] = in.BandPercent.BasisPoints()
		if !in.USDRate.IsZero() {
			ei.USDRate, msgs[3] = in.USDRate.Price()
		}
		for _, m := range msgs {
			if m != "" {
				panic(fmt.Sprintf("config: instrument %s passed Validate: %s", in.Symbol, m))
			}
		}
		ec.Instruments = append(ec.Instruments, ei)
	}
	n := int64(len(c.Shards))
	for _, l := range c.Credit {
		a, _ := c.PartyID(l.Between[0])
		b, _ := c.PartyID(l.Between[1])
		share := l.LimitUSD / n
		if int64(shard) < l.LimitUSD%n {
			share++
		}
		ec.CreditLines = append(ec.CreditLines, engine.CreditLine{A: a, B: b, Limit: share})
	}
	if len(c.Holidays) > 0 {
		ec.Holidays = make(map[string][]engine.Date, len(c.Holidays))
		for ccy, days := range c.Holidays {
			for _, s := range days {
				d, _ := parseDate(s)
				ec.Holidays[ccy] = append(ec.Holidays[ccy], d)
			}
		}
	}
	return ec, nil
}

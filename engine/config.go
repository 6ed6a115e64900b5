package engine

import (
	"fmt"
)

// SMPMode is a participant's self-match-prevention mode: what happens when
// its incoming order meets one of its own resting orders. Orders of one
// participant never trade with each other in any mode.
type SMPMode uint8

const (
	// SMPCancelResting cancels the resting order and lets the incoming order
	// go on matching (the default).
	SMPCancelResting SMPMode = 0
	// SMPCancelIncoming cancels what is left of the incoming order; fills it
	// already had stand.
	SMPCancelIncoming SMPMode = 1
	// SMPCancelBoth cancels both the resting order and the incoming
	// remainder.
	SMPCancelBoth SMPMode = 2
	// SMPOff cancels nothing: the participant's own resting orders are passed
	// over, like orders without credit, and keep their place.
	SMPOff SMPMode = 3
)

func (m SMPMode) String() string {
	switch m {
	case SMPCancelResting:
		return "cancel-resting"
	case SMPCancelIncoming:
		return "cancel-incoming"
	case SMPCancelBoth:
		return "cancel-both"
	case SMPOff:
		return "off"
	}
	return fmt.Sprintf("smp(%d)", uint8(m))
}

// ParseSMPMode parses the configuration spelling of an SMPMode.
func ParseSMPMode(s string) (SMPMode, error) {
	for m := SMPCancelResting; m <= SMPOff; m++ {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("engine: unknown self-match-prevention mode %q (want cancel-resting, cancel-incoming, cancel-both or off)", s)
}

// Participant is what the engine needs to know of a participant.
type Participant struct {
	Name string // CompID, for messages only
	// CanTrade is false for read-only participants (the regulator): their
	// orders are rejected with ReasonReadOnly.
	CanTrade bool
	SMP      SMPMode
}

// Instrument is a currency pair's trading rules. Prices are Price units
// (10^-8), quantities base-currency units.
type Instrument struct {
	Symbol   string // "USD/CNY"
	Base     string // "USD"
	Term     string // "CNY"
	Tick     Price  // price increment
	Lot      Qty    // quantity increment
	MinQty   Qty    // smallest order
	MaxQty   Qty    // largest order
	RefPrice Price  // reference price at start; moves to the last trade
	// BandBP is the price band around the reference price in basis points
	// (200 = ±2%). Limit prices outside it are rejected; market orders never
	// trade beyond it.
	BandBP int64
	// USDRate converts a base-currency quantity to USD for credit when
	// neither currency is USD and no BASE/USD or USD/BASE instrument is in
	// the same engine (Price units: USD per unit of base). Zero otherwise.
	USDRate Price
}

// Date is a calendar date as YYYYMMDD (20261125).
type Date int32

// CreditLine is a bilateral credit limit between two participants, in
// whole USD of notional. Fills between them consume it in both directions.
type CreditLine struct {
	A, B  PartyID
	Limit int64
}

// Config is everything an Engine is built from. Index 0 of Participants is
// unused (PartyID 0 is NoParty).
type Config struct {
	Shard        uint16
	Participants []Participant // [0] is a placeholder
	Instruments  []Instrument
	// CreditLines lists the limits; pairs not listed have no credit (0), so
	// their orders never match.
	CreditLines []CreditLine
	// Holidays maps a currency code to its non-business days (besides
	// Saturday and Sunday), for the SPOT value date.
	Holidays map[string][]Date
	// TradeDate is the trading day the engine starts in.
	TradeDate Date
	// MaxLiveOrders bounds the resting orders of the whole engine; an order
	// that would rest beyond it is rejected (ReasonBookFull).
	MaxLiveOrders int
	// ExpectedOrdersPerDay sizes the ClOrdID index up front so the matching
	// path does not grow it (growth allocates).
	ExpectedOrdersPerDay int
}

// Validate checks the configuration; errors name the offending entry.
func (c *Config) Validate() error {
	if len(c.Participants) < 2 {
		return fmt.Errorf("engine: config: no participants")
	}
	if len(c.Participants) > 1<<15 {
		return fmt.Errorf("engine: config: %d participants, at most %d", len(c.Participants)-1, 1<<15)
	}
	if len(c.Instruments) == 0 {
		return fmt.Errorf("engine: config: no instruments")
	}
	if len(c.Instruments) > 1<<15 {
		return fmt.Errorf("engine: config: too many instruments")
	}
	seen := map[string]bool{}
	for i := range c.Instruments {
		in := &c.Instruments[i]
		if seen[in.Symbol] {
			return fmt.Errorf("engine: config: instrument %q listed twice", in.Symbol)
		}
		seen[in.Symbol] = true
		switch {
		case in.Tick <= 0:
			return fmt.Errorf("engine: config: instrument %s: tick must be positive", in.Symbol)
		case in.Lot <= 0:
			return fmt.Errorf("engine: config: instrument %s: lot must be positive", in.Symbol)
		case in.MinQty < in.Lot || in.MinQty%in.Lot != 0:
			return fmt.Errorf("engine: config: instrument %s: min qty %d must be a positive multiple of the lot %d", in.Symbol, in.MinQty, in.Lot)
		case in.MaxQty < in.MinQty || in.MaxQty%in.Lot != 0:
			return fmt.Errorf("engine: config: instrument %s: max qty %d must be a multiple of the lot %d and at least the min qty", in.Symbol, in.MaxQty, in.Lot)
		case in.MaxQty > 1<<50:
			return fmt.Errorf("engine: config: instrument %s: max qty %d is too large", in.Symbol, in.MaxQty)
		case in.RefPrice <= 0 || in.RefPrice%in.Tick != 0:
			return fmt.Errorf("engine: config: instrument %s: reference price must be a positive multiple of the tick", in.Symbol)
		case in.RefPrice > maxPrice:
			// The band is the reference price times (10000 ± BandBP) / 10000
			// in int64: above maxPrice (2^47) that can overflow, and no
			// order could be priced there anyway.
			return fmt.Errorf("engine: config: instrument %s: reference price %d is too large (at most %d)", in.Symbol, in.RefPrice, maxPrice)
		case in.BandBP <= 0 || in.BandBP >= 10000:
			return fmt.Errorf("engine: config: instrument %s: band %d bp must be between 1 and 9999", in.Symbol, in.BandBP)
		case in.Base == "" || in.Term == "" || in.Base == in.Term:
			return fmt.Errorf("engine: config: instrument %s: base and term currencies must be two different codes", in.Symbol)
		}
	}
	for i, l := range c.CreditLines {
		n := PartyID(len(c.Participants))
		if l.A == NoParty || l.B == NoParty || l.A >= n || l.B >= n || l.A == l.B {
			return fmt.Errorf("engine: config: credit line %d names an unknown or identical participant pair", i)
		}
		if l.Limit < 0 {
			return fmt.Errorf("engine: config: credit line %s-%s: negative limit %d", c.Participants[l.A].Name, c.Participants[l.B].Name, l.Limit)
		}
	}
	if c.MaxLiveOrders <= 0 {
		return fmt.Errorf("engine: config: max live orders must be positive")
	}
	if c.MaxLiveOrders >= 1<<31 {
		return fmt.Errorf("engine: config: max live orders %d is too large", c.MaxLiveOrders)
	}
	if !c.TradeDate.Valid() {
		return fmt.Errorf("engine: config: trade date %d is not a valid YYYYMMDD date", c.TradeDate)
	}
	return nil
}

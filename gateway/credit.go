package gateway

import (
	"net/http"
	"strconv"

	"fxmatch/engine"
)

// Credit as the API shows it: a participant's lines with each
// counterparty. The limit of a line is what both sides grant each other
// (the smaller of the two), summed over the shards (each shard holds a
// share of every line); used is the USD notional of the participant's
// fills with that counterparty today, counted from its own fill events
// with the engine's own conversion (engine.USDPerBase, engine.Notional);
// available is what is left. Limits and usage start from the venue's
// recovered engines, so a restart keeps them.

func (s *Server) loadCredit() error {
	n := len(s.parties)
	s.creditLim = make([][][]int64, s.v.Shards())
	for sh := range s.creditLim {
		s.creditLim[sh] = make([][]int64, n)
		for a := range n {
			s.creditLim[sh][a] = make([]int64, n)
		}
	}
	for a := 1; a < n; a++ {
		for b := 1; b < n; b++ {
			if a == b {
				continue
			}
			limits, used, err := s.v.Credit(engine.PartyID(a), engine.PartyID(b))
			if err != nil {
				return s.errorf("%v (build the gateway before the venue runs)", err)
			}
			for sh, l := range limits {
				s.creditLim[sh][a][b] = l
			}
			s.parties[a].credit[engine.PartyID(b)] = &creditLine{used: used}
		}
	}
	return nil
}

// notional is the USD notional a fill consumes, as the engine computes it.
func (s *Server) notional(ev *engine.Event) int64 {
	if int(ev.Instrument) >= len(s.insts) {
		return 0
	}
	st := s.insts[ev.Instrument]
	var via engine.Price
	if st.via != nil {
		via = st.via.refPrice()
	}
	return engine.Notional(ev.LastQty, engine.USDPerBase(&st.inst, ev.LastPx, via, st.viaInverse))
}

// refPrice is the instrument's reference price: its last trade, or the
// configured reference.
func (st *instState) refPrice() engine.Price {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ref > 0 {
		return st.ref
	}
	return st.inst.RefPrice
}

// linkUSDLegs finds, for each instrument with neither currency USD, the
// instrument of its shard that prices its base in USD (as the engine
// does).
func (s *Server) linkUSDLegs() {
	for _, st := range s.insts {
		in := &st.inst
		if in.Base == "USD" || in.Term == "USD" {
			continue
		}
		for _, o := range s.insts {
			if s.v.ShardOf(o.id) != s.v.ShardOf(st.id) {
				continue
			}
			if o.inst.Symbol == in.Base+"/USD" {
				st.via, st.viaInverse = o, false
				break
			}
			if o.inst.Symbol == "USD/"+in.Base && st.via == nil {
				st.via, st.viaInverse = o, true
			}
		}
	}
}

type creditJSON struct {
	Counterparty string `json:"counterparty"`
	Limit        string `json:"limit"`
	Used         string `json:"used"`
	Available    string `json:"available"`
	Currency     string `json:"currency"`
}

func (s *Server) getCredit(w http.ResponseWriter, r *http.Request, p *Principal) {
	ps := s.parties[p.Party]
	out := make([]creditJSON, 0, len(s.parties))
	for b := 1; b < len(s.parties); b++ {
		cp := engine.PartyID(b)
		if cp == p.Party {
			continue
		}
		var limit int64
		s.creditMu.Lock()
		for sh := range s.creditLim {
			limit += min(s.creditLim[sh][p.Party][cp], s.creditLim[sh][cp][p.Party])
		}
		s.creditMu.Unlock()
		ps.mu.Lock()
		used := ps.credit[cp].used
		ps.mu.Unlock()
		out = append(out, creditJSON{
			Counterparty: s.names.Party(cp), Limit: strconv.FormatInt(limit, 10), Used: strconv.FormatInt(used, 10),
			Available: strconv.FormatInt(max(0, limit-used), 10), Currency: "USD",
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"participant": p.ID, "lines": out})
}

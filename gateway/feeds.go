package gateway

// partyState is what the gateway keeps per participant.
type partyState struct{}

// instState is what the gateway keeps per instrument.
type instState struct{}

func (s *Server) startFeeds() error { return nil }
func (s *Server) stopFeeds()        {}

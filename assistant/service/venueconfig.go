package service

import (
	"fxmatch/config"
	"fxmatch/engine"
)

// FromConfig fills the venue-derived options from the venue's
// configuration: its instruments, in the configuration's order (the
// venue's global numbering), and its brokers.
func FromConfig(cfg *config.Config, opts *Options) error {
	byName := map[string]engine.Instrument{}
	for si := range cfg.Shards {
		ec, err := cfg.EngineConfig(si, 20000103)
		if err != nil {
			return err
		}
		for _, in := range ec.Instruments {
			byName[in.Symbol] = in
		}
	}
	opts.Instruments = opts.Instruments[:0]
	for i := range cfg.Instruments {
		if in, ok := byName[cfg.Instruments[i].Symbol]; ok {
			opts.Instruments = append(opts.Instruments, in)
		}
	}
	// Addresses of shared proxies and gateways are not devices (loopback
	// never is): see fraud.Config.SharedSources.
	opts.Fraud.SharedSources = cfg.RiskPolicy().SharedSources
	opts.Brokers = opts.Brokers[:0]
	opts.Participants = opts.Participants[:0]
	for _, p := range cfg.Participants {
		opts.Participants = append(opts.Participants, p.ID)
		if p.Role == config.RoleBroker {
			opts.Brokers = append(opts.Brokers, p.ID)
		}
	}
	return nil
}

package gateway

import (
	"fxmatch/engine"
	"fxmatch/gateway/wire"
)

// Short names for the wire formats, used by the package's handlers.

func fmtQty(q engine.Qty) string { return wire.FormatQty(q) }

// fmtTime is RFC 3339 with nanoseconds, UTC.
func fmtTime(ns int64) string { return wire.FormatTime(ns) }

// Package fix will be the venue's FIX 4.4 front end: the session layer
// (logon with CompID and password, heartbeats, sequence numbers persisted
// across restarts, resend and reset, the per-session throttle,
// cancel-on-disconnect) and the wire codec for the messages of
// shared/spec/FIX-RoE.md (NewOrderSingle, cancel and replace, mass cancel,
// market data, security list, ExecutionReports and drop copies). It turns
// bytes into engine.Commands and engine.Events back into bytes, and nothing
// else: matching rules stay in package engine, so a dealer's question
// about the wire ("which tag carries what") is answered here and a question
// about trading ("what fills against what") there. The parser and encoder
// are to be hand-written and append-style, as the Rules of Engagement's
// latency target (tens of microseconds on loopback) leaves no room for a
// generic FIX library's allocations. Not built yet: nothing listens on the
// configured FIX address, and `fxmatch serve` says so in its banner.
package fix

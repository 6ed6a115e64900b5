// Package fixbench is the venue's FIX load generator (`fxmatch bench fix`)
// and the minimal raw FIX 4.4 client it is built on.
//
// The client (Client, Reader, the Append* encoders) is deliberately not a
// FIX engine: it frames, sends and parses messages, logs on, and answers
// TestRequests, and nothing else — no resend, no gap detection, no
// validation beyond BodyLength and CheckSum. That is what a load generator
// needs: it must cost far less than the venue it measures, so it encodes
// with append-style functions into reused buffers and parses in place,
// without allocating per message. Tests that want to speak raw FIX to the
// venue from Go (the crash test) use the same client.
//
// The load generator (Run) is open-loop: each session has a fixed schedule
// of intended send times at the offered rate, one pacer (on an OS thread
// of its own, sleeping between wake-ups rather than spinning, see pacer)
// sends every order when its time comes whether or not earlier ones were
// answered, each from a template framed before the run, and the
// latency of an order is measured from its intended send time to the
// ExecutionReport 150=0 that acknowledges it (its arrival as the kernel
// stamped it, for a plain TCP session on Linux: the generator's own
// wake-up latency is not the venue's). A venue that stalls therefore
// shows the stall in every order scheduled during it, instead of hiding it
// by slowing the generator down (coordinated omission). How late the pacer
// itself was is reported beside it (send lag), so that a slow generator is
// visible rather than blamed on the venue.
//
// The order mix keeps the book bounded for any duration: orders rest far
// from the market (buys at 7.0500, sells at 7.1500 on USD/CNY, never
// crossing each other) and each is cancelled in the same write as the
// session's next order (mix "cancel"), or orders are IOC and the venue
// cancels them at once (mix "ioc").
package fixbench

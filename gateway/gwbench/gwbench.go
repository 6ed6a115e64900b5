// Package gwbench measures the gateway from the outside, as clients see
// it: order entry over HTTP at a fixed offered rate (RunHTTP), and the
// WebSocket market-data fan-out to many subscribers (RunWS). It speaks the
// public API only (POST /api/v1/orders, GET /api/v1/stream), so it runs
// against any venue: one started in-process by `fxmatch bench http|ws`,
// or a running one given by address.
//
// # Open loop, no coordinated omission
//
// RunHTTP fixes every request's intended send time in advance (start +
// i/rate) and measures each latency from that intended time to the
// response, not from the moment the request actually left. A slow venue
// therefore cannot hide its stalls by slowing the load generator down:
// requests that had to wait for a free connection, or that the scheduler
// sent late, carry that wait in their latency (the "coordinated omission"
// of closed-loop generators). Latencies go into an HdrHistogram
// (1 µs to 60 s, 3 significant digits).
//
// # Delivery delay
//
// RunWS subscribes N clients to the book (and trades) stream of a pair and
// drives orders into that pair. Every stream document carries the engine
// time of the event it reflects ("time"): the command's sequencing time.
// A subscriber's delay is its receipt time minus that time, so it covers
// the journal's durability, the hub, the gateway's fan-out and the
// WebSocket write and read — everything after sequencing. Clients and
// venue share the machine's clock when run in-process or on one host;
// across hosts the delay includes their clock offset.
package gwbench

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latency is a histogram's summary in microseconds.
type Latency struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_us"`
	P90   float64 `json:"p90_us"`
	P99   float64 `json:"p99_us"`
	P999  float64 `json:"p99_9_us"`
	Max   float64 `json:"max_us"`
	Mean  float64 `json:"mean_us"`
}

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(60*time.Second/time.Microsecond), 3)
}

// recordUs records d in microseconds (clamped to the histogram's range).
func recordUs(h *hdrhistogram.Histogram, d time.Duration) {
	us := d.Microseconds()
	if us < 1 {
		us = 1
	}
	if us > h.HighestTrackableValue() {
		us = h.HighestTrackableValue()
	}
	h.RecordValue(us)
}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	return Latency{
		Count: uint64(h.TotalCount()),
		P50:   float64(h.ValueAtQuantile(50)),
		P90:   float64(h.ValueAtQuantile(90)),
		P99:   float64(h.ValueAtQuantile(99)),
		P999:  float64(h.ValueAtQuantile(99.9)),
		Max:   float64(h.Max()),
		Mean:  h.Mean(),
	}
}

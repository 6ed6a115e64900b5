// Package metrics holds the venue's few measurement primitives and the
// Prometheus text exposition format (version 0.0.4) they are served in,
// written by hand: a fixed-bucket histogram whose Observe is a handful of
// atomic adds, append-style encoders for counters, gauges and histograms,
// and a strict parser of the format that tests and the benchmark tools use
// to read /metrics back.
//
// Why no client library: the venue's counters live where the work is (the
// journal's writer, the hub, the FIX acceptor) as plain atomics, and the
// gateway reads them when /metrics is scraped. A registry of metric
// objects would put a map lookup or an interface call next to hot code for
// no gain, and its dependency tree is larger than this file.
//
// Observe never allocates and never blocks, so it may be called on the
// journal's acker goroutine or the hub's subscriber; a scrape reads the
// buckets without a lock, so a histogram read during Observe may count an
// observation in its buckets and not yet in Count (or the other way): the
// exposition writes Count as the sum of the buckets, so the +Inf bucket
// always equals _count, as the format requires.
package metrics

import (
	"math"
	"strconv"
	"sync/atomic"
)

// Histogram counts observations (non-negative int64 values, typically
// nanoseconds or bytes) into fixed buckets. The zero value is not usable:
// use NewHistogram.
type Histogram struct {
	bounds []int64         // inclusive upper bounds, increasing
	counts []atomic.Uint64 // len(bounds)+1: the last is +Inf
	sum    atomic.Int64    // saturates rather than wrapping
	_      [0]func()       // not comparable
}

// NewHistogram makes a histogram with the given inclusive upper bounds,
// which must be increasing (it panics otherwise: bounds are constants in
// the code).
func NewHistogram(bounds ...int64) *Histogram {
	for i := 1; i < len(bounds); i++ {
		if bounds[i] <= bounds[i-1] {
			panic("metrics: histogram bounds must increase")
		}
	}
	return &Histogram{bounds: append([]int64(nil), bounds...), counts: make([]atomic.Uint64, len(bounds)+1)}
}

// LatencyBounds are the default latency buckets in nanoseconds: 10 µs to
// 10 s, three per decade (1, 2.5, 5). Matching acknowledgements live at
// the low end, journal syncs in the middle, stalls at the top.
var LatencyBounds = []int64{
	10e3, 25e3, 50e3, 100e3, 250e3, 500e3,
	1e6, 2.5e6, 5e6, 10e6, 25e6, 50e6,
	100e6, 250e6, 500e6, 1e9, 2.5e9, 5e9, 10e9,
}

// Observe counts v (negative values count as 0).
func (h *Histogram) Observe(v int64) {
	if v < 0 {
		v = 0
	}
	// A linear scan: ~20 bounds, branch-predictable, cheaper than a
	// binary search at this size.
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	for {
		s := h.sum.Load()
		n := s + v
		if n < s {
			n = math.MaxInt64
		}
		if h.sum.CompareAndSwap(s, n) {
			return
		}
	}
}

// HistogramSnapshot is a histogram's state at one moment.
type HistogramSnapshot struct {
	Bounds []int64  // inclusive upper bounds
	Counts []uint64 // per bucket (not cumulative); the last is +Inf
	Sum    int64
}

// Count is the number of observations (the sum of the buckets).
func (s *HistogramSnapshot) Count() uint64 {
	var n uint64
	for _, c := range s.Counts {
		n += c
	}
	return n
}

// Snapshot reads the histogram (without a lock: see the package doc).
func (h *Histogram) Snapshot() HistogramSnapshot {
	s := HistogramSnapshot{Bounds: h.bounds, Counts: make([]uint64, len(h.counts)), Sum: h.sum.Load()}
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
	}
	return s
}

// Quantile estimates the q-quantile (0 < q <= 1) as the upper bound of the
// bucket it falls in (math.MaxInt64 for the +Inf bucket, 0 when empty):
// an upper estimate, never an interpolation that pretends to precision
// the buckets do not have.
func (s *HistogramSnapshot) Quantile(q float64) int64 {
	n := s.Count()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var cum uint64
	for i, c := range s.Counts {
		cum += c
		if cum >= rank {
			if i < len(s.Bounds) {
				return s.Bounds[i]
			}
			return math.MaxInt64
		}
	}
	return math.MaxInt64
}

// Label is one name="value" pair of a sample.
type Label struct{ Name, Value string }

// AppendHeader appends the # HELP and # TYPE lines of a metric family.
// typ is "counter", "gauge" or "histogram".
func AppendHeader(dst []byte, name, help, typ string) []byte {
	dst = append(dst, "# HELP "...)
	dst = append(dst, name...)
	dst = append(dst, ' ')
	dst = appendEscaped(dst, help, false)
	dst = append(dst, "\n# TYPE "...)
	dst = append(dst, name...)
	dst = append(dst, ' ')
	dst = append(dst, typ...)
	return append(dst, '\n')
}

// AppendSample appends one sample line: name{labels} value.
func AppendSample(dst []byte, name string, labels []Label, v float64) []byte {
	dst = append(dst, name...)
	dst = appendLabels(dst, labels, "", "")
	dst = append(dst, ' ')
	dst = appendFloat(dst, v)
	return append(dst, '\n')
}

// AppendUint appends one sample line with an integer value (counters).
func AppendUint(dst []byte, name string, labels []Label, v uint64) []byte {
	dst = append(dst, name...)
	dst = appendLabels(dst, labels, "", "")
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, v, 10)
	return append(dst, '\n')
}

// AppendHistogram appends a histogram's _bucket, _sum and _count lines.
// scale divides the observed values for display (1e9 turns nanoseconds
// into the seconds Prometheus expects; 1 leaves them as they are).
func AppendHistogram(dst []byte, name string, labels []Label, s *HistogramSnapshot, scale float64) []byte {
	var cum uint64
	for i, c := range s.Counts {
		cum += c
		le := "+Inf"
		if i < len(s.Bounds) {
			le = strconv.FormatFloat(float64(s.Bounds[i])/scale, 'g', -1, 64)
		}
		dst = append(dst, name...)
		dst = append(dst, "_bucket"...)
		dst = appendLabels(dst, labels, "le", le)
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, cum, 10)
		dst = append(dst, '\n')
	}
	dst = append(dst, name...)
	dst = append(dst, "_sum"...)
	dst = appendLabels(dst, labels, "", "")
	dst = append(dst, ' ')
	dst = appendFloat(dst, float64(s.Sum)/scale)
	dst = append(dst, '\n')
	dst = append(dst, name...)
	dst = append(dst, "_count"...)
	dst = appendLabels(dst, labels, "", "")
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, cum, 10)
	return append(dst, '\n')
}

func appendLabels(dst []byte, labels []Label, extraName, extraValue string) []byte {
	if len(labels) == 0 && extraName == "" {
		return dst
	}
	dst = append(dst, '{')
	for i, l := range labels {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, l.Name...)
		dst = append(dst, '=', '"')
		dst = appendEscaped(dst, l.Value, true)
		dst = append(dst, '"')
	}
	if extraName != "" {
		if len(labels) > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, extraName...)
		dst = append(dst, '=', '"')
		dst = append(dst, extraValue...)
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// appendEscaped escapes as the format wants: backslash and newline in
// HELP text, and the double quote too in label values.
func appendEscaped(dst []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '"' && quote:
			dst = append(dst, '\\', '"')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func appendFloat(dst []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(dst, "+Inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-Inf"...)
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

package fixbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// FindMaxOptions configures FindMax: a run per step, the offered rate
// multiplied by Factor each step, until a step is not sustained.
type FindMaxOptions struct {
	// Factor multiplies the rate each step (default 1.5).
	Factor float64
	// MaxRate ends the search even if every step was sustained (default
	// 2,000,000 orders a second); MaxSteps likewise (default 20).
	MaxRate  float64
	MaxSteps int
	// A step is sustained when its p99 is at most P99Factor × the first
	// step's p99 (default 10) and at most P99Limit (default 5 ms), and no
	// more than LossLimit (default 1%) of its orders were rejected,
	// missing, or behind: acknowledgements a second below (1 − LossLimit)
	// × the offered rate.
	P99Factor float64
	P99Limit  time.Duration
	LossLimit float64
	// Progress, if set, is called after each step.
	Progress func(Step)
}

func (f *FindMaxOptions) defaults() {
	if f.Factor <= 1 {
		f.Factor = 1.5
	}
	if f.MaxRate <= 0 {
		f.MaxRate = 2_000_000
	}
	if f.MaxSteps <= 0 {
		f.MaxSteps = 20
	}
	if f.P99Factor <= 0 {
		f.P99Factor = 10
	}
	if f.P99Limit <= 0 {
		f.P99Limit = 5 * time.Millisecond
	}
	if f.LossLimit <= 0 {
		f.LossLimit = 0.01
	}
}

// Step is one rate tried by FindMax.
type Step struct {
	*Result
	Sustained bool `json:"sustained"`
	// Why says why a step was not sustained.
	Why string `json:"why,omitempty"`
}

// FindMaxResult is the outcome of FindMax.
type FindMaxResult struct {
	Steps []Step `json:"steps"`
	// MaxSustainedRate is the highest offered rate of a sustained step (0
	// if the first was not sustained); Best is that step.
	MaxSustainedRate float64 `json:"max_sustained_rate"`
	Best             *Result `json:"best,omitempty"`
	// BaselineP99 is the first step's p99 (µs), the yardstick of "runs
	// away".
	BaselineP99    float64 `json:"baseline_p99_us"`
	StoppedBecause string  `json:"stopped_because"`
}

// FindMax raises the offered rate from o.Rate by f.Factor per step (each
// a Run of o.Duration with o.Warmup) until a step is not sustained, and
// reports the highest sustained rate. A step that fails is run once more
// before the search ends, so one noisy second on a shared machine does
// not decide it.
func FindMax(ctx context.Context, o Options, f FindMaxOptions) (*FindMaxResult, error) {
	f.defaults()
	out := &FindMaxResult{}
	rate := o.Rate
	retried := false
	runID := o.RunID
	for step := 0; ; step++ {
		if step >= f.MaxSteps {
			out.StoppedBecause = fmt.Sprintf("%d steps, all sustained", f.MaxSteps)
			return out, nil
		}
		if rate > f.MaxRate {
			out.StoppedBecause = fmt.Sprintf("the next rate %.0f is above the search's limit %.0f", rate, f.MaxRate)
			return out, nil
		}
		so := o
		so.Rate = rate
		if runID != "" {
			so.RunID = fmt.Sprintf("%s%d", runID, step)
		} else {
			so.RunID = ""
		}
		res, err := Run(ctx, so)
		if err != nil {
			return out, err
		}
		if step == 0 {
			out.BaselineP99 = res.Latency.P99
		}
		st := Step{Result: res, Sustained: true}
		if why := f.judge(res, out.BaselineP99); why != "" {
			st.Sustained, st.Why = false, why
		}
		out.Steps = append(out.Steps, st)
		if f.Progress != nil {
			f.Progress(st)
		}
		if st.Sustained {
			if res.OfferedRate > out.MaxSustainedRate {
				out.MaxSustainedRate, out.Best = res.OfferedRate, res
			}
			retried = false
			rate = math.Round(rate * f.Factor)
			continue
		}
		if !retried && step > 0 {
			retried = true
			continue // the same rate once more
		}
		out.StoppedBecause = fmt.Sprintf("%.0f orders/s not sustained: %s", rate, st.Why)
		return out, nil
	}
}

// judge says why res is not sustained ("" if it is).
func (f *FindMaxOptions) judge(res *Result, baseP99 float64) string {
	var why []string
	if len(res.Errors) > 0 {
		why = append(why, "a session ended early: "+res.Errors[0])
	}
	p99 := res.Latency.P99
	if limit := float64(f.P99Limit.Microseconds()); p99 > limit {
		why = append(why, fmt.Sprintf("p99 %.0f µs > %.0f µs", p99, limit))
	}
	if baseP99 > 0 && p99 > f.P99Factor*baseP99 {
		why = append(why, fmt.Sprintf("p99 %.0f µs > %g× the first step's %.0f µs", p99, f.P99Factor, baseP99))
	}
	if res.Sent > 0 {
		if lost := float64(res.Rejected+res.Missing) / float64(res.Sent); lost > f.LossLimit {
			why = append(why, fmt.Sprintf("%.1f%% of orders rejected or unanswered", 100*lost))
		}
	}
	if res.AchievedRate < (1-f.LossLimit)*res.OfferedRate {
		why = append(why, fmt.Sprintf("acks %.0f/s behind the offered %.0f/s", res.AchievedRate, res.OfferedRate))
	}
	return strings.Join(why, "; ")
}

// WriteTextHeader writes the column heads of WriteTextRow.
func WriteTextHeader(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%-10s %4s %6s %9s %9s %9s %8s %8s %8s %9s %9s %9s %9s %9s\n",
		"durability", "sess", "mix", "offered/s", "acked/s", "sent", "rejected", "missing",
		"p50 µs", "p99 µs", "p99.9 µs", "max µs", "lag p99", "lag max")
	return err
}

// WriteTextRow writes res as one row of the table, labelled with the
// venue's durability (or "-").
func WriteTextRow(w io.Writer, durability string, res *Result) error {
	_, err := fmt.Fprintf(w, "%-10s %4d %6s %9.0f %9.0f %9d %8d %8d %8.1f %9.1f %9.1f %9.1f %9.1f %9.1f\n",
		durability, res.Sessions, res.Mix, res.OfferedRate, res.AchievedRate, res.Sent, res.Rejected, res.Missing,
		res.Latency.P50, res.Latency.P99, res.Latency.P999, res.Latency.Max, res.SendLag.P99, res.SendLag.Max)
	if err != nil {
		return err
	}
	return writeNotes(w, res)
}

// writeNotes lists what went wrong in a run, under its row.
func writeNotes(w io.Writer, res *Result) error {
	var notes []string
	for _, e := range res.Errors {
		notes = append(notes, "session ended early: "+e)
	}
	keys := make([]string, 0, len(res.RejectReasons))
	for k := range res.RejectReasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		notes = append(notes, fmt.Sprintf("rejected %d× %s", res.RejectReasons[k], k))
	}
	keys = keys[:0]
	for k := range res.CancelRejectReasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		notes = append(notes, fmt.Sprintf("OrderCancelReject %d× %s", res.CancelRejectReasons[k], k))
	}
	if res.SessionRejects > 0 {
		notes = append(notes, fmt.Sprintf("%d session-level rejects, the first: %s", res.SessionRejects, res.FirstReject))
	}
	for _, n := range notes {
		if _, err := fmt.Fprintf(w, "           ↳ %s\n", n); err != nil {
			return err
		}
	}
	return nil
}

// MarshalIndent is json.MarshalIndent, for the command's --json.
func MarshalIndent(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }

package fraud

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// This file is the offline evaluation behind `fxmatch eval fraud`: it
// replays a labelled stream through the scorer and the two baselines,
// each order scored only on the lines before it, and measures them
// against the labels. The labels are read by the evaluation only; the
// scorer never sees them.

// Method indexes of an evaluation.
const (
	MethodScorer = iota
	MethodRules
	MethodZScore
	numMethods
)

var methodNames = [numMethods]string{"scorer", "rules", "z-score"}

// Evaluation is the result of replaying one labelled stream.
type Evaluation struct {
	Orders, Fraud, HardNeg int
	Episodes               map[string]int // fraud episodes per kind
	HardNegByKind          map[string]int // hard-negative orders per kind
	Config                 Config

	AUC, PRAUC [numMethods]float64
	AtFPR      [numMethods]OpPoint // each method at its own 1%-FPR threshold
	Configured OpPoint             // the scorer at its configured review threshold
	Blocked    OpPoint             // the scorer at its configured block threshold

	// Per order, in stream order: the scores and the label (nil when
	// unlabelled), and the scorer's features when asked for.
	OrderIDs []string
	Scores   [numMethods][]float64
	Labels   []*Label
	Features [][NumFeatures]float64

	episodes map[string][]int // episode → its orders' indexes, in stream order
}

// OpPoint is an operating point: a threshold and what alerting at it
// catches and costs.
type OpPoint struct {
	Threshold     float64
	FPR, Recall   float64            // over orders
	KindRecall    map[string]float64 // over each fraud kind's orders
	EpisodeCaught map[string]float64 // share of episodes with at least one alert, per kind
	FirstOrder    float64            // share of takeover episodes alerted on their first order
	BeforeMedian  float64            // fraud orders passed before an episode's first alert (missed episodes count all theirs)
	BeforeMean    float64
	HardNegFlag   float64 // share of hard-negative orders alerted
	HardNegIssue  float64 // the same over the issue's three kinds (new pair, quarter end, volatile day)
	HardNegKind   map[string]float64
}

// ReadLabels reads a labels file.
func ReadLabels(r io.Reader) (map[string]*Label, error) {
	out := map[string]*Label{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		l := new(Label)
		if err := json.Unmarshal(sc.Bytes(), l); err != nil {
			return nil, fmt.Errorf("fraud: labels line %d: %v", n, err)
		}
		out[l.OrderID] = l
	}
	return out, sc.Err()
}

// Replay replays events through a scorer configured by cfg and through
// the baselines, keeping every order's scores (and, with keepFeatures, the
// scorer's features, for FitWeights). Measure then scores them against
// labels: the two steps are apart so that a stream can be evaluated while
// it is generated, before its labels exist.
func Replay(events io.Reader, cfg Config, keepFeatures bool) (*Evaluation, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	rules, zs := NewRulesBaseline(), NewZScoreBaseline()
	e := &Evaluation{Config: s.Config()}
	sc := bufio.NewScanner(events)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var ev Event
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := ParseEvent(line, &ev); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		res := s.Score(&ev)
		rs, zv := rules.Score(&ev), zs.Score(&ev)
		if !res.Scored {
			continue
		}
		e.Scores[MethodScorer] = append(e.Scores[MethodScorer], res.Score)
		e.Scores[MethodRules] = append(e.Scores[MethodRules], rs)
		e.Scores[MethodZScore] = append(e.Scores[MethodZScore], zv)
		if keepFeatures {
			e.Features = append(e.Features, res.Features)
		}
		e.OrderIDs = append(e.OrderIDs, ev.OrderID)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	e.Orders = len(e.OrderIDs)
	return e, nil
}

// Measure labels the replayed orders and computes the figures.
func (e *Evaluation) Measure(labels map[string]*Label) error {
	e.Fraud, e.HardNeg = 0, 0
	e.Episodes, e.HardNegByKind, e.episodes = map[string]int{}, map[string]int{}, map[string][]int{}
	e.Labels = make([]*Label, len(e.OrderIDs))
	for i, id := range e.OrderIDs {
		l := labels[id]
		e.Labels[i] = l
		switch {
		case l == nil:
		case l.Fraud:
			e.Fraud++
			if len(e.episodes[l.Episode]) == 0 {
				e.Episodes[l.Kind]++
			}
			e.episodes[l.Episode] = append(e.episodes[l.Episode], i)
		default:
			e.HardNeg++
			e.HardNegByKind[l.Kind]++
		}
	}
	if e.Fraud == 0 || e.Fraud == e.Orders {
		return fmt.Errorf("fraud: eval: need fraudulent and honest orders (%d of %d orders are labelled fraud)", e.Fraud, e.Orders)
	}
	for m := range numMethods {
		sc := e.Scores[m]
		e.AUC[m], e.PRAUC[m] = e.aucs(sc)
		thr := e.thresholdAtFPR(sc, 0.01)
		e.AtFPR[m] = e.opPoint(func(i int) bool { return sc[i] >= thr })
		e.AtFPR[m].Threshold = thr
	}
	sc0 := e.Scores[MethodScorer]
	e.Configured = e.opPoint(func(i int) bool { return sc0[i] >= e.Config.Review })
	e.Configured.Threshold = e.Config.Review
	e.Blocked = e.opPoint(func(i int) bool { return sc0[i] >= e.Config.Block })
	e.Blocked.Threshold = e.Config.Block
	return nil
}

func (e *Evaluation) fraud(i int) bool { return e.Labels[i] != nil && e.Labels[i].Fraud }

// byScore is the orders' indexes by score, highest first.
func (e *Evaluation) byScore(sc []float64) []int {
	idx := make([]int, len(sc))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(sc[b], sc[a]) })
	return idx
}

// aucs computes the ROC-AUC (ties count half) and the PR-AUC as average
// precision (tied scores form one step).
func (e *Evaluation) aucs(sc []float64) (roc, pr float64) {
	idx := e.byScore(sc)
	pos, neg := float64(e.Fraud), float64(e.Orders-e.Fraud)
	var tp, fp float64
	for g := 0; g < len(idx); {
		h := g
		var gtp, gfp float64
		for h < len(idx) && sc[idx[h]] == sc[idx[g]] {
			if e.fraud(idx[h]) {
				gtp++
			} else {
				gfp++
			}
			h++
		}
		// Positives in this group beat the negatives below it and
		// tie with the group's negatives.
		roc += gtp * (neg - fp - gfp + gfp/2)
		tp, fp = tp+gtp, fp+gfp
		if gtp > 0 {
			pr += (gtp / pos) * (tp / (tp + fp))
		}
		g = h
	}
	return roc / (pos * neg), pr
}

// thresholdAtFPR is the lowest score at which alerting keeps the share of
// honest orders alerted at or below fpr (ties alerted together).
func (e *Evaluation) thresholdAtFPR(sc []float64, fpr float64) float64 {
	idx := e.byScore(sc)
	neg := float64(e.Orders - e.Fraud)
	thr := math.Inf(1)
	fp := 0.0
	for g := 0; g < len(idx); {
		h := g
		gfp := 0.0
		for h < len(idx) && sc[idx[h]] == sc[idx[g]] {
			if !e.fraud(idx[h]) {
				gfp++
			}
			h++
		}
		if (fp+gfp)/neg > fpr {
			break
		}
		fp += gfp
		thr = sc[idx[g]]
		g = h
	}
	return thr
}

func (e *Evaluation) opPoint(alert func(i int) bool) OpPoint {
	op := OpPoint{KindRecall: map[string]float64{}, EpisodeCaught: map[string]float64{}, HardNegKind: map[string]float64{}}
	var fp, tp float64
	kindTP := map[string]float64{}
	kindN := map[string]float64{}
	for i, l := range e.Labels {
		a := alert(i)
		if l != nil && l.Fraud {
			kindN[l.Kind]++
			if a {
				tp++
				kindTP[l.Kind]++
			}
			continue
		}
		if a {
			fp++
			if l != nil {
				op.HardNegKind[l.Kind]++
				op.HardNegFlag++
			}
		}
	}
	op.FPR = fp / float64(e.Orders-e.Fraud)
	op.Recall = tp / float64(e.Fraud)
	for k, n := range kindN {
		op.KindRecall[k] = kindTP[k] / n
	}
	issueN := 0.0
	for k, n := range e.HardNegByKind {
		if k != LabelNewDevice {
			op.HardNegIssue += op.HardNegKind[k]
			issueN += float64(n)
		}
		op.HardNegKind[k] /= float64(n)
	}
	if issueN > 0 {
		op.HardNegIssue /= issueN
	}
	if e.HardNeg > 0 {
		op.HardNegFlag /= float64(e.HardNeg)
	}
	var before []float64
	caught := map[string]float64{}
	var ato, atoFirst float64
	for _, orders := range e.episodes {
		kind := e.Labels[orders[0]].Kind
		passed := len(orders)
		for j, i := range orders {
			if alert(i) {
				passed = j
				break
			}
		}
		before = append(before, float64(passed))
		if passed < len(orders) {
			caught[kind]++
		}
		if kind == LabelTakeover {
			ato++
			if passed == 0 {
				atoFirst++
			}
		}
	}
	for k, n := range e.Episodes {
		op.EpisodeCaught[k] = caught[k] / float64(n)
	}
	if ato > 0 {
		op.FirstOrder = atoFirst / ato
	}
	if len(before) > 0 {
		slices.Sort(before)
		op.BeforeMedian = before[len(before)/2]
		if len(before)%2 == 0 {
			op.BeforeMedian = (before[len(before)/2-1] + before[len(before)/2]) / 2
		}
		for _, b := range before {
			op.BeforeMean += b
		}
		op.BeforeMean /= float64(len(before))
	}
	return op
}

// Report writes the evaluation as a table: the scorer and the two
// baselines side by side, each at its own 1%-FPR threshold, then the
// scorer at its configured thresholds.
func (e *Evaluation) Report(w io.Writer) {
	var b strings.Builder
	nEp := 0
	var eps []string
	for _, k := range FraudKinds {
		nEp += e.Episodes[k]
		eps = append(eps, fmt.Sprintf("%s %d", k, e.Episodes[k]))
	}
	fmt.Fprintf(&b, "%d orders; %d fraudulent (%.2f%%) in %d episodes (%s); %d hard negatives\n\n",
		e.Orders, e.Fraud, 100*float64(e.Fraud)/float64(e.Orders), nEp, strings.Join(eps, ", "), e.HardNeg)
	row := func(name string, f func(m int) string) {
		fmt.Fprintf(&b, "%-44s", name)
		for m := range numMethods {
			fmt.Fprintf(&b, "%10s", f(m))
		}
		b.WriteByte('\n')
	}
	pct := func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }
	row("", func(m int) string { return methodNames[m] })
	row("ROC-AUC", func(m int) string { return fmt.Sprintf("%.4f", e.AUC[m]) })
	row("PR-AUC (average precision)", func(m int) string { return fmt.Sprintf("%.4f", e.PRAUC[m]) })
	b.WriteString("at each method's 1%-FPR threshold:\n")
	row("  threshold", func(m int) string { return fmt.Sprintf("%.4g", e.AtFPR[m].Threshold) })
	row("  false-positive rate", func(m int) string { return pct(e.AtFPR[m].FPR) })
	row("  recall (fraudulent orders)", func(m int) string { return pct(e.AtFPR[m].Recall) })
	for _, k := range FraudKinds {
		row("    "+k+" orders", func(m int) string { return pct(e.AtFPR[m].KindRecall[k]) })
	}
	for _, k := range FraudKinds {
		row("  "+k+" episodes caught", func(m int) string { return pct(e.AtFPR[m].EpisodeCaught[k]) })
	}
	row("  takeovers caught on their first order", func(m int) string { return pct(e.AtFPR[m].FirstOrder) })
	row("  fraud orders before first alert, median", func(m int) string { return fmt.Sprintf("%.1f", e.AtFPR[m].BeforeMedian) })
	row("  fraud orders before first alert, mean", func(m int) string { return fmt.Sprintf("%.2f", e.AtFPR[m].BeforeMean) })
	row("  hard negatives flagged", func(m int) string { return pct(e.AtFPR[m].HardNegFlag) })
	row("    the issue's three kinds", func(m int) string { return pct(e.AtFPR[m].HardNegIssue) })
	for _, k := range HardNegativeKinds {
		row(fmt.Sprintf("    %s (%d)", k, e.HardNegByKind[k]), func(m int) string { return pct(e.AtFPR[m].HardNegKind[k]) })
	}
	fmt.Fprintf(&b, "\nscorer at its configured thresholds (review >= %g, block >= %g):\n", e.Config.Review, e.Config.Block)
	for _, op := range []struct {
		name string
		p    *OpPoint
	}{{"review or block", &e.Configured}, {"block", &e.Blocked}} {
		p := op.p
		fmt.Fprintf(&b, "  %-16s FPR %.2f%%, recall %s (", op.name, 100*p.FPR, pct(p.Recall))
		for i, k := range FraudKinds {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %s", k, pct(p.KindRecall[k]))
		}
		fmt.Fprintf(&b, "), takeovers on first order %s, fraud orders before first alert median %.1f mean %.2f, hard negatives flagged %s\n",
			pct(p.FirstOrder), p.BeforeMedian, p.BeforeMean, pct(p.HardNegFlag))
	}
	io.WriteString(w, b.String())
}

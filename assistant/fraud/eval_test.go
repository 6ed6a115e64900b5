package fraud

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// evalOf builds an evaluation from scores and fraud flags directly.
func evalOf(scores []float64, fraud []bool) *Evaluation {
	e := &Evaluation{Config: DefaultConfig()}
	labels := map[string]*Label{}
	for i, s := range scores {
		id := string(rune('a' + i))
		e.OrderIDs = append(e.OrderIDs, id)
		for m := range numMethods {
			e.Scores[m] = append(e.Scores[m], s)
		}
		if fraud[i] {
			labels[id] = &Label{OrderID: id, Kind: LabelTakeover, Episode: "ep-" + id, Fraud: true}
		}
	}
	e.Orders = len(scores)
	if err := e.Measure(labels); err != nil {
		panic(err)
	}
	return e
}

func TestAUC(t *testing.T) {
	for _, c := range []struct {
		name       string
		scores     []float64
		fraud      []bool
		roc, prauc float64
	}{
		{"perfect", []float64{0.9, 0.8, 0.1, 0.2}, []bool{true, true, false, false}, 1, 1},
		{"reversed", []float64{0.1, 0.2, 0.9, 0.8}, []bool{true, true, false, false}, 0, 0.5 * (1.0/3 + 2.0/4)},
		{"all tied", []float64{0.5, 0.5, 0.5, 0.5}, []bool{true, false, false, false}, 0.5, 0.25},
		{"one swap", []float64{0.9, 0.7, 0.8, 0.1}, []bool{true, true, false, false}, 0.75, 0.5*1 + 0.5*2.0/3},
	} {
		e := evalOf(c.scores, c.fraud)
		if math.Abs(e.AUC[0]-c.roc) > 1e-9 || math.Abs(e.PRAUC[0]-c.prauc) > 1e-9 {
			t.Errorf("%s: ROC-AUC %.4f PR-AUC %.4f, want %.4f %.4f", c.name, e.AUC[0], e.PRAUC[0], c.roc, c.prauc)
		}
	}
}

func TestThresholdAtFPR(t *testing.T) {
	// 200 honest orders scored 0..199/200, two fraudulent at 0.995 and
	// 0.5: at 1% FPR (2 honest orders) the threshold is 0.99 and one
	// fraudulent order is caught.
	var sc []float64
	var fr []bool
	for i := 0; i < 200; i++ {
		sc = append(sc, float64(i)/200)
		fr = append(fr, false)
	}
	sc = append(sc, 0.995, 0.5)
	fr = append(fr, true, true)
	e := evalOf(sc, fr)
	op := e.AtFPR[0]
	if op.Threshold != 0.99 || op.Recall != 0.5 || op.FPR != 0.01 {
		t.Errorf("threshold %v recall %v FPR %v", op.Threshold, op.Recall, op.FPR)
	}
	if op.FirstOrder != 0.5 || op.EpisodeCaught[LabelTakeover] != 0.5 {
		t.Errorf("first-order %v, episodes caught %v", op.FirstOrder, op.EpisodeCaught)
	}
}

func TestEvaluateSmallSim(t *testing.T) {
	var ev, lb bytes.Buffer
	if _, err := Simulate(SimParams{Seed: 11, Accounts: 300, Days: 10}, &ev, &lb); err != nil {
		t.Fatal(err)
	}
	labels, err := ReadLabels(&lb)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Replay(&ev, Config{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Measure(labels); err != nil {
		t.Fatal(err)
	}
	// A small stream has little history and few episodes: the bar is
	// that the scorer is far ahead of both baselines, not the targets.
	if e.AUC[MethodScorer] < 0.93 || e.AUC[MethodScorer] < e.AUC[MethodRules]+0.1 || e.AUC[MethodScorer] < e.AUC[MethodZScore]+0.1 {
		t.Errorf("ROC-AUC scorer %.4f, rules %.4f, z-score %.4f", e.AUC[0], e.AUC[1], e.AUC[2])
	}
	var out strings.Builder
	e.Report(&out)
	for _, want := range []string{"ROC-AUC", "1%-FPR threshold", "takeovers caught on their first order", "volatile_day"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	w, err := FitWeights(e, 1)
	if err != nil {
		t.Fatal(err)
	}
	if w.Bias >= 0 || math.IsNaN(w.Bias) {
		t.Errorf("fitted bias %v", w.Bias)
	}
}

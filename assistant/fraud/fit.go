package fraud

import (
	"fmt"
	"io"
	"math"
)

// FitWeights fits the logistic combination to an evaluation's features
// and labels by L2-regularised maximum likelihood (Newton's method; the
// bias is not regularised). It is how DefaultWeights were derived, on a
// training seed kept apart from the seeds the evaluation reports; the
// scorer itself never sees labels. e must have been made with
// keepFeatures and measured.
//
// Each fraud episode weighs the same in the fit, whatever its number of
// orders (an order of an episode of n orders weighs mean/n, mean being
// the mean episode length), and the total weight of fraud is unchanged:
// otherwise the forty orders of a momentum burst would outvote the single
// order of a takeover, while what the venue needs is every episode caught.
// (Weighing each episode's first order more was tried: it raised the
// bias to make room for first orders nothing distinguishes, such as a
// spoofer's first bait, and caught fewer takeovers.)
func FitWeights(e *Evaluation, lambda float64) (Weights, error) {
	const dim = NumFeatures + 1
	if len(e.Features) != e.Orders || e.Labels == nil {
		return Weights{}, fmt.Errorf("fraud: fit: the evaluation kept no features or has no labels")
	}
	sw := make([]float64, e.Orders)
	for i := range sw {
		sw[i] = 1
	}
	meanLen := float64(e.Fraud) / float64(len(e.episodes))
	for _, orders := range e.episodes {
		for _, i := range orders {
			sw[i] = meanLen / float64(len(orders))
		}
	}
	var beta [dim]float64
	beta[0] = -7
	for iter := 0; iter < 50; iter++ {
		var grad [dim]float64
		var hess [dim][dim]float64
		for i, f := range e.Features {
			var x [dim]float64
			x[0] = 1
			copy(x[1:], f[:])
			z := 0.0
			for j := range x {
				z += beta[j] * x[j]
			}
			p := 1 / (1 + math.Exp(-z))
			y := 0.0
			if e.fraud(i) {
				y = 1
			}
			w := sw[i] * p * (1 - p)
			for j := range x {
				if x[j] == 0 {
					continue
				}
				grad[j] += sw[i] * (y - p) * x[j]
				for k := range x {
					hess[j][k] += w * x[j] * x[k]
				}
			}
		}
		for j := 1; j < dim; j++ {
			grad[j] -= lambda * beta[j]
			hess[j][j] += lambda
		}
		hess[0][0] += 1e-9
		step, ok := solve(hess, grad)
		if !ok {
			return Weights{}, fmt.Errorf("fraud: fit: singular system")
		}
		// Damped Newton: no coordinate moves more than 2 per step, and a
		// step that lowers the penalised likelihood is halved.
		big := 0.0
		for j := range step {
			big = math.Max(big, math.Abs(step[j]))
		}
		scale := 1.0
		if big > 2 {
			scale = 2 / big
		}
		ll0 := logLik(e, sw, beta, lambda)
		var next [dim]float64
		for range 30 {
			for j := range beta {
				next[j] = beta[j] + scale*step[j]
			}
			if logLik(e, sw, next, lambda) >= ll0-1e-9 {
				break
			}
			scale /= 2
		}
		beta = next
		if big*scale < 1e-6 {
			break
		}
	}
	var w Weights
	w.Bias = beta[0]
	copy(w.W[:], beta[1:])
	return w, nil
}

// logLik is the L2-penalised log-likelihood of the weights beta (bias
// first).
func logLik(e *Evaluation, sw []float64, beta [NumFeatures + 1]float64, lambda float64) float64 {
	ll := 0.0
	for i, f := range e.Features {
		z := beta[0]
		for j, x := range f {
			z += beta[j+1] * x
		}
		// log σ(z) and log(1-σ(z)), stable for large |z|.
		if e.fraud(i) {
			ll -= sw[i] * math.Log1p(math.Exp(-z))
		} else {
			ll -= sw[i] * math.Log1p(math.Exp(z))
		}
	}
	for j := 1; j < len(beta); j++ {
		ll -= lambda / 2 * beta[j] * beta[j]
	}
	return ll
}

// solve solves a·x = b by Gaussian elimination with partial pivoting.
func solve(a [NumFeatures + 1][NumFeatures + 1]float64, b [NumFeatures + 1]float64) ([NumFeatures + 1]float64, bool) {
	const n = NumFeatures + 1
	for c := 0; c < n; c++ {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-12 {
			return b, false
		}
		a[c], a[p] = a[p], a[c]
		b[c], b[p] = b[p], b[c]
		for r := c + 1; r < n; r++ {
			f := a[r][c] / a[c][c]
			for k := c; k < n; k++ {
				a[r][k] -= f * a[c][k]
			}
			b[r] -= f * b[c]
		}
	}
	var x [n]float64
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for k := r + 1; k < n; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x, true
}

// PrintWeights writes weights as Go-like lines, for the fit report.
func PrintWeights(out io.Writer, w Weights) {
	fmt.Fprintf(out, "bias %8.3f\n", w.Bias)
	for i, x := range w.W {
		fmt.Fprintf(out, "%-14s %8.3f\n", FeatureNames[i], x)
	}
}

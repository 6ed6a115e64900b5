package gwbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HTTPParams configures RunHTTP.
type HTTPParams struct {
	// BaseURL is the venue's HTTP address, e.g. http://127.0.0.1:8080.
	BaseURL string
	// Tokens are two trading participants' API tokens: orders alternate
	// between them so that each pair of orders trades (a resting maker,
	// then an IOC taker on the other side at the same price), which keeps
	// the book and the credit used flat however long the run.
	Tokens [2]string
	// Symbol ("USD/CNY"), Price (on its tick, inside its band) and Qty (a
	// lot multiple) of every order.
	Symbol, Price, Qty string
	// Rate is the offered rate in orders a second; Duration how long to
	// offer it; Warmup a first stretch at the same rate not measured.
	Rate     int
	Duration time.Duration
	Warmup   time.Duration
	// MaxInflight bounds the requests in flight (and the connections): a
	// request whose turn comes while all are busy waits, and its wait
	// counts in its latency.
	MaxInflight int
	// RunID makes the client order ids unique across runs on one trading
	// day (default: the start time).
	RunID string
}

// HTTPResult is what RunHTTP measured.
type HTTPResult struct {
	Offered      int     `json:"offered_rate"`
	DurationS    float64 `json:"duration_s"`
	Sent         int     `json:"sent"`
	Completed    int     `json:"completed"`
	AchievedRate float64 `json:"achieved_rate"`
	// Latency of every answered order, from its intended send time to the
	// response (201 and 422 alike: both are durable outcomes).
	Latency Latency `json:"latency"`
	// Status counts by HTTP status ("201", "422", "429", …) and transport
	// failures ("error").
	Status map[string]int `json:"status"`
	// Reasons counts 422 problems by their "reason".
	Reasons map[string]int `json:"reasons,omitempty"`
	// LateSends counts requests that left more than 1 ms after their
	// intended time (the generator or the connection pool could not keep
	// up: their latency includes it).
	LateSends int `json:"late_sends"`
	// FirstError is the first transport error or unexpected answer, for
	// the report.
	FirstError string `json:"first_error,omitempty"`
}

type httpJob struct {
	i        int
	intended time.Time
	measured bool
}

// RunHTTP offers orders at p.Rate for p.Warmup+p.Duration and measures
// each one's latency from its intended send time to its answer.
func RunHTTP(ctx context.Context, p HTTPParams) (*HTTPResult, error) {
	if p.Rate <= 0 || p.Duration <= 0 {
		return nil, errors.New("gwbench: rate and duration must be positive")
	}
	if p.MaxInflight <= 0 {
		p.MaxInflight = 256
	}
	if p.RunID == "" {
		p.RunID = strconv.FormatInt(time.Now().UnixNano()/1e6%1e9, 36)
	}
	tr := &http.Transport{
		MaxIdleConns: p.MaxInflight, MaxIdleConnsPerHost: p.MaxInflight, MaxConnsPerHost: p.MaxInflight,
		IdleConnTimeout: 90 * time.Second, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	url := strings.TrimRight(p.BaseURL, "/") + "/api/v1/orders"

	total := int(float64(p.Rate) * (p.Warmup + p.Duration).Seconds())
	warm := int(float64(p.Rate) * p.Warmup.Seconds())
	interval := time.Second / time.Duration(p.Rate)
	jobs := make(chan httpJob, p.MaxInflight)
	res := &HTTPResult{Offered: p.Rate, DurationS: p.Duration.Seconds(), Status: map[string]int{}, Reasons: map[string]int{}}
	var mu sync.Mutex
	hist := newHist()
	var wg sync.WaitGroup
	for range p.MaxInflight {
		wg.Go(func() {
			h := newHist()
			var body []byte
			local := map[string]int{}
			reasons := map[string]int{}
			late, done := 0, 0
			var firstErr string
			for j := range jobs {
				if time.Since(j.intended) > time.Millisecond {
					late++
				}
				body = orderBody(body[:0], &p, j.i)
				tok := p.Tokens[orderOwner(j.i)]
				status, reason, err := postOrder(ctx, client, url, tok, body)
				lat := time.Since(j.intended)
				switch {
				case err != nil:
					local["error"]++
					if firstErr == "" {
						firstErr = err.Error()
					}
					continue
				default:
					local[strconv.Itoa(status)]++
					if status == http.StatusUnprocessableEntity {
						reasons[reason]++
					} else if status != http.StatusCreated && firstErr == "" {
						firstErr = fmt.Sprintf("HTTP %d %s", status, reason)
					}
				}
				if j.measured && (status == http.StatusCreated || status == http.StatusUnprocessableEntity) {
					recordUs(h, lat)
					done++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			hist.Merge(h)
			for k, n := range local {
				res.Status[k] += n
			}
			for k, n := range reasons {
				res.Reasons[k] += n
			}
			res.LateSends += late
			res.Completed += done
			if res.FirstError == "" {
				res.FirstError = firstErr
			}
		})
	}
	start := time.Now().Add(10 * time.Millisecond)
	measureFrom := start.Add(p.Warmup)
	var measureEnd time.Time
loop:
	for i := range total {
		intended := start.Add(time.Duration(i) * interval)
		if d := time.Until(intended); d > 0 {
			time.Sleep(d)
		}
		select {
		case jobs <- httpJob{i: i, intended: intended, measured: i >= warm}:
			if i >= warm {
				res.Sent++
			}
		case <-ctx.Done():
			break loop
		}
	}
	close(jobs)
	wg.Wait()
	measureEnd = time.Now()
	res.Latency = latencyOf(hist)
	if el := measureEnd.Sub(measureFrom).Seconds(); el > 0 {
		res.AchievedRate = float64(res.Completed) / el
	}
	if len(res.Reasons) == 0 {
		res.Reasons = nil
	}
	return res, ctx.Err()
}

// orderOwner is which token sends order i: pair k = i/2 has its maker
// from token k%2 and its taker from the other.
func orderOwner(i int) int { return (i/2 + i%2) % 2 }

// orderBody appends the JSON of order i: in pair k = i/2, order 2k is the
// maker (GTC, resting), 2k+1 the taker (IOC, same price, other side); the
// maker sells in even pairs and buys in odd ones, so each participant's
// position and credit use swing around zero.
func orderBody(d []byte, p *HTTPParams, i int) []byte {
	k := i / 2
	makerSells := k%2 == 0
	sell := makerSells
	tif := "gtc"
	if i%2 == 1 {
		sell = !makerSells
		tif = "ioc"
	}
	side := "buy"
	if sell {
		side = "sell"
	}
	d = append(d, `{"client_order_id":"gb`...)
	d = append(d, p.RunID...)
	d = append(d, '-')
	d = strconv.AppendInt(d, int64(i), 10)
	d = append(d, `","symbol":"`...)
	d = append(d, p.Symbol...)
	d = append(d, `","side":"`...)
	d = append(d, side...)
	d = append(d, `","type":"limit","qty":"`...)
	d = append(d, p.Qty...)
	d = append(d, `","price":"`...)
	d = append(d, p.Price...)
	d = append(d, `","tif":"`...)
	d = append(d, tif...)
	return append(d, `"}`...)
}

func postOrder(ctx context.Context, c *http.Client, url, token string, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return 0, "", err
	}
	reason := ""
	if res.StatusCode != http.StatusCreated {
		var pr struct {
			Reason, Detail string
		}
		if json.Unmarshal(b, &pr) == nil {
			reason = pr.Reason
			if reason == "" {
				reason = pr.Detail
			}
		}
	}
	return res.StatusCode, reason, nil
}

package gwbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// WSParams configures RunWS.
type WSParams struct {
	// BaseURL is the venue's HTTP address (http://host:port); the stream is
	// ws://host:port/api/v1/stream.
	BaseURL string
	// Tokens authenticate the subscribers, round-robin (market data is
	// the same for every participant; several tokens spread the
	// subscribers over participants, whose open streams the gateway
	// bounds).
	Tokens []string
	// Subscribers is how many WebSocket clients subscribe (default 1000).
	Subscribers int
	// Symbol is the pair ("USD/CNY"); Channels what each subscribes to
	// (default book and trades).
	Symbol   string
	Channels []string
	// Rate orders a second are driven into the pair by Drive for Warmup +
	// Duration; frames about events sequenced during Duration are measured.
	Rate     int
	Duration time.Duration
	Warmup   time.Duration
	// Drive submits order i (for example HTTPDriver, or the venue's
	// SubmitOrder in-process). It is called from a few goroutines at once.
	Drive func(ctx context.Context, i int) error
	// DialConcurrency bounds simultaneous handshakes (default 64).
	DialConcurrency int
	// DrainMax bounds the wait for frames still in flight after the
	// driving stops (default 30 s).
	DrainMax time.Duration
}

// WSResult is what RunWS measured.
type WSResult struct {
	Subscribers int     `json:"subscribers"`
	Connected   int     `json:"connected"`
	ConnectS    float64 `json:"connect_s"`
	OrdersRate  int     `json:"orders_rate"`
	Orders      int     `json:"orders"`
	DriveErrors int     `json:"drive_errors"`
	DurationS   float64 `json:"duration_s"`
	// Frames measured (book and trades documents about events sequenced
	// in the measured window), over all subscribers, and per second.
	Frames       uint64  `json:"frames"`
	FramesPerSec float64 `json:"frames_per_s"`
	// Delay from each frame's event time (its sequencing) to its receipt.
	Delay Latency `json:"delay"`
	// Disconnected counts subscribers the server closed during the run,
	// by close reason ("slow consumer…").
	Disconnected map[string]int `json:"disconnected,omitempty"`
	// Undrained: frames were still arriving when DrainMax ran out (the
	// delay figures then miss the latest ones).
	Undrained  bool   `json:"undrained,omitempty"`
	FirstError string `json:"first_error,omitempty"`
}

// RunWS connects the subscribers, drives orders and measures delivery
// delay.
func RunWS(ctx context.Context, p WSParams) (*WSResult, error) {
	if p.Subscribers <= 0 {
		p.Subscribers = 1000
	}
	if len(p.Channels) == 0 {
		p.Channels = []string{"book", "trades"}
	}
	if p.DialConcurrency <= 0 {
		p.DialConcurrency = 64
	}
	if p.DrainMax <= 0 {
		p.DrainMax = 30 * time.Second
	}
	if p.Rate <= 0 || p.Duration <= 0 || p.Drive == nil || len(p.Tokens) == 0 {
		return nil, errors.New("gwbench: rate, duration, tokens and a driver are required")
	}
	wsURL := "ws" + strings.TrimPrefix(strings.TrimRight(p.BaseURL, "/"), "http") + "/api/v1/stream"
	code := strings.ReplaceAll(p.Symbol, "/", "")
	res := &WSResult{Subscribers: p.Subscribers, OrdersRate: p.Rate, DurationS: p.Duration.Seconds(), Disconnected: map[string]int{}}

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var (
		mu        sync.Mutex
		hist      = newHist()
		connected atomic.Int64
		frames    atomic.Uint64
		lastRecv  atomic.Int64 // unix nanos of the latest measured frame
		firstErr  atomic.Pointer[string]
	)
	setErr := func(err error) {
		s := err.Error()
		firstErr.CompareAndSwap(nil, &s)
	}
	// measureFrom/To bound the event times measured; set before driving.
	var measureFrom, measureTo atomic.Int64
	measureTo.Store(1<<63 - 1)
	measureFrom.Store(1<<63 - 1)

	tStart := time.Now()
	ready := make(chan struct{}, p.Subscribers)
	dialSem := make(chan struct{}, p.DialConcurrency)
	var wg sync.WaitGroup
	for si := range p.Subscribers {
		token := p.Tokens[si%len(p.Tokens)]
		wg.Go(func() {
			h := newHist()
			var n uint64
			defer func() {
				mu.Lock()
				hist.Merge(h)
				mu.Unlock()
				frames.Add(n)
			}()
			dialSem <- struct{}{}
			dctx, cancel := context.WithTimeout(runCtx, 30*time.Second)
			c, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{
				HTTPHeader: http.Header{"Authorization": []string{"Bearer " + token}},
			})
			<-dialSem
			if err != nil {
				cancel()
				setErr(fmt.Errorf("dial: %w", err))
				ready <- struct{}{}
				return
			}
			defer c.CloseNow()
			c.SetReadLimit(1 << 20)
			for _, ch := range p.Channels {
				msg := `{"op":"subscribe","channel":"` + ch + `","symbol":"` + code + `"}`
				if err := c.Write(dctx, websocket.MessageText, []byte(msg)); err != nil {
					cancel()
					setErr(fmt.Errorf("subscribe: %w", err))
					ready <- struct{}{}
					return
				}
			}
			cancel()
			connected.Add(1)
			ready <- struct{}{}
			for {
				_, data, err := c.Read(runCtx)
				if err != nil {
					if runCtx.Err() == nil {
						reason := "read error"
						var ce websocket.CloseError
						if errors.As(err, &ce) {
							reason = fmt.Sprintf("%d %s", ce.Code, ce.Reason)
						}
						mu.Lock()
						res.Disconnected[reason]++
						mu.Unlock()
						setErr(err)
					}
					return
				}
				now := time.Now().UnixNano()
				ch, evTime, ok := frameTime(data)
				if !ok || (ch != "book" && ch != "trades") {
					continue
				}
				if evTime >= measureFrom.Load() && evTime < measureTo.Load() {
					recordUs(h, time.Duration(now-evTime))
					n++
					lastRecv.Store(now)
				}
			}
		})
	}
	for range p.Subscribers {
		<-ready
	}
	res.Connected = int(connected.Load())
	res.ConnectS = time.Since(tStart).Seconds()
	if res.Connected == 0 {
		stopRun()
		wg.Wait()
		if e := firstErr.Load(); e != nil {
			return res, errors.New("gwbench: no subscriber connected: " + *e)
		}
		return res, errors.New("gwbench: no subscriber connected")
	}
	// Let the subscriptions settle (their first book document arrives).
	time.Sleep(200 * time.Millisecond)

	// Drive: open loop at Rate from a few goroutines.
	total := int(float64(p.Rate) * (p.Warmup + p.Duration).Seconds())
	interval := time.Second / time.Duration(p.Rate)
	start := time.Now().Add(10 * time.Millisecond)
	measureFrom.Store(start.Add(p.Warmup).UnixNano())
	jobs := make(chan int, 64)
	var drv sync.WaitGroup
	var driveErrs, driven atomic.Int64
	for range 8 {
		drv.Go(func() {
			for i := range jobs {
				if err := p.Drive(runCtx, i); err != nil {
					if driveErrs.Add(1) == 1 {
						setErr(fmt.Errorf("drive: %w", err))
					}
					continue
				}
				driven.Add(1)
			}
		})
	}
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	drv.Wait()
	measureTo.Store(time.Now().UnixNano())
	// Frames about the last events are still on their way: read until no
	// measured frame has arrived for a second (the backlog drained) or
	// DrainMax passed, so a fan-out that falls behind shows its full delay
	// instead of having its late frames cut off.
	drainEnd := time.Now().Add(p.DrainMax)
	for time.Now().Before(drainEnd) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		if time.Since(time.Unix(0, lastRecv.Load())) > time.Second {
			break
		}
	}
	res.Undrained = time.Now().After(drainEnd)
	stopRun()
	wg.Wait()
	res.Orders = int(driven.Load())
	res.DriveErrors = int(driveErrs.Load())
	res.Frames = frames.Load()
	res.FramesPerSec = float64(res.Frames) / time.Duration(measureTo.Load()-measureFrom.Load()).Seconds()
	res.Delay = latencyOf(hist)
	if e := firstErr.Load(); e != nil {
		res.FirstError = *e
	}
	if len(res.Disconnected) == 0 {
		res.Disconnected = nil
	}
	return res, ctx.Err()
}

// frameTime reads a stream document's "channel" and "time" (RFC 3339)
// without decoding the rest.
func frameTime(b []byte) (string, int64, bool) {
	ch, ok := stringMember(b, `"channel":"`)
	if !ok {
		return "", 0, false
	}
	ts, ok := stringMember(b, `"time":"`)
	if !ok {
		return ch, 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ch, 0, false
	}
	return ch, t.UnixNano(), true
}

func stringMember(b []byte, key string) (string, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return "", false
	}
	rest := b[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	return string(rest[:j]), true
}

// HTTPDriver drives orders through POST /api/v1/orders with the maker/
// taker pairs of RunHTTP (every pair changes the book twice and trades).
func HTTPDriver(p HTTPParams) func(ctx context.Context, i int) error {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	url := strings.TrimRight(p.BaseURL, "/") + "/api/v1/orders"
	if p.RunID == "" {
		p.RunID = strconv.FormatInt(time.Now().UnixNano()/1e6%1e9, 36)
	}
	return func(ctx context.Context, i int) error {
		body := orderBody(nil, &p, i)
		status, reason, err := postOrder(ctx, client, url, p.Tokens[orderOwner(i)], body)
		if err != nil {
			return err
		}
		if status != http.StatusCreated {
			return fmt.Errorf("HTTP %d %s", status, reason)
		}
		return nil
	}
}

package gwbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestOrderPairs(t *testing.T) {
	p := &HTTPParams{Symbol: "USD/CNY", Price: "7.1010", Qty: "100000", RunID: "r"}
	type o struct {
		owner     int
		side, tif string
	}
	var got []o
	for i := range 4 {
		var m map[string]string
		if err := json.Unmarshal(orderBody(nil, p, i), &m); err != nil {
			t.Fatal(err)
		}
		if m["client_order_id"] != fmt.Sprintf("gbr-%d", i) || m["symbol"] != "USD/CNY" || m["price"] != "7.1010" || m["qty"] != "100000" || m["type"] != "limit" {
			t.Fatalf("order %d: %v", i, m)
		}
		got = append(got, o{orderOwner(i), m["side"], m["tif"]})
	}
	want := []o{{0, "sell", "gtc"}, {1, "buy", "ioc"}, {1, "buy", "gtc"}, {0, "sell", "ioc"}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %d: %+v, want %+v (all %+v)", i, got[i], want[i], got)
		}
	}
}

func TestFrameTime(t *testing.T) {
	ts := time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC)
	ch, n, ok := frameTime([]byte(`{"channel":"book","symbol":"USD/CNY","seq":3,"time":"` + ts.Format(time.RFC3339Nano) + `","bids":[]}`))
	if !ok || ch != "book" || n != ts.UnixNano() {
		t.Fatalf("%q %d %v", ch, n, ok)
	}
	if _, _, ok := frameTime([]byte(`{"channel":"subscribed"}`)); ok {
		t.Fatal("a frame without time read as timed")
	}
}

// TestRunHTTPOpenLoop: against a server that answers after 20 ms with
// room for only 2 requests at a time, an offered 200/s cannot be kept up;
// the measured latency must grow with the queue (measured from intended
// send times), not stay at 20 ms as a closed loop would report.
func TestRunHTTPOpenLoop(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/orders" || r.Header.Get("Authorization") == "" {
			http.Error(w, "bad", 400)
			return
		}
		io.Copy(io.Discard, r.Body)
		time.Sleep(20 * time.Millisecond)
		if n.Add(1)%10 == 0 {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(422)
			w.Write([]byte(`{"reason":"price-not-tick"}`))
			return
		}
		w.WriteHeader(201)
	}))
	defer srv.Close()
	res, err := RunHTTP(context.Background(), HTTPParams{
		BaseURL: srv.URL, Tokens: [2]string{"a", "b"}, Symbol: "USD/CNY", Price: "7.1", Qty: "100000",
		Rate: 200, Duration: 500 * time.Millisecond, MaxInflight: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 100 || res.Completed != 100 || res.Status["201"] != 90 || res.Status["422"] != 10 || res.Reasons["price-not-tick"] != 10 {
		t.Fatalf("%+v", res)
	}
	// 2 in flight × 20 ms = 100/s served for 200/s offered: the last
	// request waits ~250 ms behind the queue.
	if res.Latency.P50 < 20_000 || res.Latency.Max < 150_000 || res.LateSends == 0 {
		t.Fatalf("latency %+v, late %d: the queueing delay is not counted", res.Latency, res.LateSends)
	}
}

// TestRunWS: a fake stream server sends a timed book frame to every
// subscriber for each driven order; every frame is counted, with a delay
// at least the server's added 2 ms.
func TestRunWS(t *testing.T) {
	var mu sync.Mutex
	var conns []*websocket.Conn
	subs := make(chan struct{}, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no", 401)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		for range 2 {
			_, msg, err := c.Read(r.Context())
			if err != nil || !strings.Contains(string(msg), `"symbol":"USDCNY"`) {
				c.Close(websocket.StatusPolicyViolation, "bad subscribe")
				return
			}
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		subs <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()
	drive := func(ctx context.Context, i int) error {
		ev := time.Now()
		time.Sleep(2 * time.Millisecond)
		frame := []byte(`{"channel":"book","symbol":"USD/CNY","time":"` + ev.UTC().Format(time.RFC3339Nano) + `"}`)
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
				return err
			}
		}
		return nil
	}
	res, err := RunWS(context.Background(), WSParams{
		BaseURL: srv.URL, Tokens: []string{"tok"}, Subscribers: 20, Symbol: "USD/CNY",
		Rate: 100, Duration: 300 * time.Millisecond, Drive: drive,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 20 || res.Orders != 30 || res.Frames != 600 || res.Delay.P50 < 2000 {
		t.Fatalf("%+v", res)
	}
}

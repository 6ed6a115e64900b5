package gateway

// Browser tests: the storefront driven in real headless Chromium (Debian's
// chromium package) through the DevTools protocol (chromedp), against the
// venue and the gateway running in-process on loopback. One test per
// view's main flow; each waits for elements and states, never sleeps,
// and is bounded by a deadline. Screenshots at laptop and phone width go
// to $FXMATCH_ARTIFACTS (default: a temporary directory, logged).
//
// Without Chromium the tests skip with a message, unless
// FXMATCH_REQUIRE_CHROMIUM=1 (CI) makes that a failure.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/engine"
)

// browserDeadline bounds one browser test, start of Chromium included.
const browserDeadline = 90 * time.Second

type browser struct {
	t         *testing.T
	alloc     context.Context
	artifacts string
	base      string
}

func chromiumPath() string {
	for _, p := range []string{os.Getenv("FXMATCH_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// newBrowser starts headless Chromium for a test against e.
func newBrowser(t *testing.T, e *env) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("FXMATCH_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("Chromium is not installed (Debian package chromium) and FXMATCH_REQUIRE_CHROMIUM=1")
		}
		t.Skip("Chromium is not installed (Debian package chromium): browser tests skipped; set FXMATCH_REQUIRE_CHROMIUM=1 to fail instead")
	}
	dir := os.Getenv("FXMATCH_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, "screenshots", t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 860),
	)
	ctx, cancel := context.WithTimeout(context.Background(), browserDeadline)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(func() { cancelAlloc(); cancel() })
	return &browser{t: t, alloc: alloc, artifacts: dir, base: e.base}
}

// tab is one browser tab (its own sessionStorage, so its own login).
type tab struct {
	b    *browser
	ctx  context.Context
	name string
}

func (b *browser) tab(name string) *tab {
	ctx, cancel := chromedp.NewContext(b.alloc, chromedp.WithLogf(b.t.Logf))
	b.t.Cleanup(cancel)
	tb := &tab{b: b, ctx: ctx, name: name}
	// The first Run starts the tab and binds it to its context: it must
	// be the tab's own context, not a step's (see run), or the end of the
	// step would close the tab.
	if err := chromedp.Run(ctx, chromedp.Navigate(b.base+"/#/login")); err != nil {
		b.t.Fatalf("%s: opening the storefront: %v", name, err)
	}
	return tb
}

// stepDeadline bounds one run of actions, so that a wait that never
// ends leaves time to capture the page for the failure message.
const stepDeadline = 20 * time.Second

func (tb *tab) run(actions ...chromedp.Action) {
	tb.b.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepDeadline)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var html string
		_ = chromedp.Run(tb.ctx, chromedp.OuterHTML("main", &html, chromedp.ByQuery))
		tb.shot("failure")
		tb.b.t.Fatalf("%s: %v\npage: %s", tb.name, err, html)
	}
}

// login logs in with a demo token through the login page's list.
func (tb *tab) login(token string) {
	tb.b.t.Helper()
	tb.run(
		chromedp.WaitVisible(`#token`, chromedp.ByQuery),
		chromedp.WaitVisible(`button[data-token="`+token+`"]`, chromedp.ByQuery),
		chromedp.SendKeys(`#token`, token, chromedp.ByQuery),
		chromedp.Click(`#login-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(`#nav`, chromedp.ByQuery),
		chromedp.WaitVisible(`#conn`, chromedp.ByQuery),
	)
}

// labelled checks an accessibility basic: every form control on the
// page has a label, and every button a name.
func (tb *tab) labelled() {
	tb.b.t.Helper()
	var bad []string
	tb.run(chromedp.Evaluate(`[...document.querySelectorAll("input, select, textarea, button")]
		.filter(e => e.offsetParent !== null)
		.filter(e => e.tagName === "BUTTON" ? !e.textContent.trim() && !e.getAttribute("aria-label") : !(e.labels && e.labels.length) && !e.getAttribute("aria-label"))
		.map(e => e.outerHTML.slice(0, 120))`, &bad))
	if len(bad) > 0 {
		tb.b.t.Errorf("%s: controls without a label: %q", tb.name, bad)
	}
}

// setInput replaces an input's value as typing would, firing "input".
func setInput(sel, value string) chromedp.Action {
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) throw new Error("no element %s"); e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`, sel, sel, value)
	var ok bool
	return chromedp.Evaluate(js, &ok)
}

func (tb *tab) open(view string) {
	tb.b.t.Helper()
	tb.run(chromedp.Navigate(tb.b.base+"/#/"+view), chromedp.WaitVisible(`[data-view="`+view+`"]`, chromedp.ByQuery))
}

func (tb *tab) text(sel string) string {
	tb.b.t.Helper()
	var s string
	tb.run(chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

// shot writes a full-page screenshot at laptop width, then at phone
// width (390×844, a phone's CSS pixels), and restores laptop width.
func (tb *tab) shot(step string) {
	for _, vp := range []struct {
		name   string
		w, h   int64
		mobile bool
	}{{"laptop", 1280, 860, false}, {"phone", 390, 844, true}} {
		var png []byte
		err := chromedp.Run(tb.ctx,
			emulation.SetDeviceMetricsOverride(vp.w, vp.h, 1, vp.mobile),
			chromedp.FullScreenshot(&png, 100),
		)
		if err != nil {
			tb.b.t.Logf("screenshot %s %s: %v", step, vp.name, err)
			continue
		}
		name := filepath.Join(tb.b.artifacts, fmt.Sprintf("%s-%s-%s.png", tb.name, step, vp.name))
		if err := os.WriteFile(name, png, 0o644); err != nil {
			tb.b.t.Logf("screenshot: %v", err)
		}
	}
	_ = chromedp.Run(tb.ctx, emulation.ClearDeviceMetricsOverride())
}

func storefrontEnv(t *testing.T) (*env, *fakeAssistant) {
	fa := &fakeAssistant{}
	e := newEnv(t, withFakeAssistant(fa))
	fa.gw = e.gw
	return e, fa
}

// TestBrowserBrokerListsAndBuySideHits: the broker accepts the
// assistant's recommendation and the listing updates; a bank hits it and
// both see the fill.
func TestBrowserBrokerListsAndBuySideHits(t *testing.T) {
	e, _ := storefrontEnv(t)
	b := newBrowser(t, e)

	broker := b.tab("broker")
	broker.login(tokBroker)
	broker.open("broker")
	// The stream is up (the indicator says so).
	broker.run(chromedp.WaitVisible(`#conn[data-state="live"]`, chromedp.ByQuery))
	broker.run(
		chromedp.WaitVisible(`[data-testid="rec-USDCNY"] [data-testid="rationale"]`, chromedp.ByQuery),
		chromedp.WaitEnabled(`[data-testid="accept-USDCNY"]`, chromedp.ByQuery),
	)
	if s := broker.text(`[data-testid="listing-USDCNY"] [data-testid="listing-state"]`); s != "not listed" {
		t.Fatalf("listing state before accepting: %q", s)
	}
	broker.shot("1-recommendation")
	broker.run(
		chromedp.Click(`[data-testid="accept-USDCNY"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="listing-updated"]`, chromedp.ByQuery),
	)
	var rows int
	broker.run(chromedp.Evaluate(`document.querySelectorAll('[data-testid="listing-USDCNY"] [data-testid="tier-row"]').length`, &rows))
	if rows != 3 {
		t.Fatalf("listing shows %d tiers, want 3", rows)
	}
	if s := broker.text(`[data-testid="listing-USDCNY"] [data-testid="tier-row"][data-qty="5000000"]`); !strings.Contains(s, "7.0990") || !strings.Contains(s, "7.1010") {
		t.Fatalf("5m tier shows %q", s)
	}
	// The book has the orders.
	usdcny, _ := e.v.Instrument("USD/CNY")
	if bk := e.v.Book(usdcny); len(bk.Bids) != 3 || len(bk.Asks) != 3 {
		t.Fatalf("book after accepting: %d bids %d asks", len(bk.Bids), len(bk.Asks))
	}
	broker.shot("2-listed")

	bank := b.tab("banka")
	bank.login(tokA)
	bank.open("buy")
	card := `[data-testid="store-BROKER1-USDCNY"]`
	bank.run(
		chromedp.WaitVisible(card+` [data-testid="tier-row"]`, chromedp.ByQuery),
		setInput(`#qty-BROKER1-USDCNY`, "3000000"),
		chromedp.Click(`[data-testid="hit-BROKER1-USDCNY"]`, chromedp.ByQuery),
		chromedp.WaitVisible(card+` [data-testid="hit-result"] [data-status="filled"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="my-fills"] [data-testid="fill-row"]`, chromedp.ByQuery),
	)
	if s := bank.text(card + ` [data-testid="hit-result"]`); !strings.Contains(s, "Filled: 3,000,000 of 3,000,000 USD/CNY") {
		t.Fatalf("hit result %q", s)
	}
	bank.shot("3-hit")
	bank.labelled()

	// The broker's page shows the fill and the position without a reload.
	broker.run(chromedp.WaitVisible(`[data-testid="broker-fills"] [data-testid="fill-row"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="positions"] [data-testid="pnl"]`, chromedp.ByQuery))
	if s := broker.text(`[data-testid="broker-fills"]`); !strings.Contains(s, "BANKA") || !strings.Contains(s, "sell") {
		t.Fatalf("broker's fills %q", s)
	}
	if s := broker.text(`[data-testid="positions"]`); !strings.Contains(s, "-3,000,000") {
		t.Fatalf("broker's position %q", s)
	}
	broker.shot("4-filled")
	broker.labelled()

	// The market view draws the book as a depth chart.
	bank.open("market")
	bank.run(chromedp.WaitVisible(`[data-testid="depth-chart"] svg path.bids`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="price-chart"] svg`, chromedp.ByQuery))
	bank.shot("5-market")
}

// blockBig is a pre-trade screener for the test: it blocks orders of
// 50m or more with reasons, as the assistant's gate does.
type blockBig struct{}

func (blockBig) Screen(ctx context.Context, cmd *engine.Command, o venue.Origin) error {
	if cmd.Qty >= 50_000_000 {
		return &venue.RiskBlock{Score: 0.97, Reasons: []string{"size 25× the account's 30-day p95", "new device or session origin"}}
	}
	return nil
}

// TestBrowserBlockedHitShowsReasons: an order blocked by pre-trade
// scoring shows the reasons to the dealer.
func TestBrowserBlockedHitShowsReasons(t *testing.T) {
	e, _ := storefrontEnv(t)
	if _, err := e.gw.stores.st.SetListing(context.Background(), "BROKER1", "USD/CNY",
		[]storeTier{{Qty: 100_000_000, Bid: 709_900_000, Ask: 710_100_000}}, storeOrigin()); err != nil {
		t.Fatal(err)
	}
	e.v.SetScreener(blockBig{})
	b := newBrowser(t, e)
	bank := b.tab("bankb")
	bank.login(tokB)
	bank.open("buy")
	card := `[data-testid="store-BROKER1-USDCNY"]`
	bank.run(
		chromedp.WaitVisible(card+` [data-testid="tier-row"]`, chromedp.ByQuery),
		setInput(`#qty-BROKER1-USDCNY`, "60000000"),
		chromedp.Click(`[data-testid="hit-BROKER1-USDCNY"]`, chromedp.ByQuery),
		chromedp.WaitVisible(card+` [data-testid="problem"][data-reason="risk"] [data-testid="risk-reasons"]`, chromedp.ByQuery),
	)
	s := bank.text(card + ` [data-testid="problem"]`)
	for _, want := range []string{"size 25× the account's 30-day p95", "new device or session origin", "Blocked by pre-trade risk scoring"} {
		if !strings.Contains(s, want) {
			t.Errorf("blocked hit shows %q, lacks %q", s, want)
		}
	}
	bank.shot("blocked")
	usdcny, _ := e.v.Instrument("USD/CNY")
	if bk := e.v.Book(usdcny); len(bk.Asks) != 1 || bk.Asks[0].Qty != 100_000_000 {
		t.Fatalf("the blocked hit traded: %+v", bk.Asks)
	}
}

// TestBrowserChatOrder: a chat order is parsed, shown, confirmed and
// filled.
func TestBrowserChatOrder(t *testing.T) {
	e, _ := storefrontEnv(t)
	if !slices.Contains(e.gw.Patterns(), "POST /api/v1/orders") {
		t.Skip("POST /api/v1/orders is not served yet (gateway core routes)")
	}
	if _, err := e.gw.stores.st.SetListing(context.Background(), "BROKER1", "USD/CNY",
		[]storeTier{{Qty: 5_000_000, Bid: 709_900_000, Ask: 710_100_000}}, storeOrigin()); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e)
	bank := b.tab("bankc")
	bank.login(tokC)
	bank.open("buy")
	bank.run(
		chromedp.WaitVisible(`#chat-input`, chromedp.ByQuery),
		chromedp.SendKeys(`#chat-input`, "buy 2m usdcny at 7.1010 ioc", chromedp.ByQuery),
		chromedp.Click(`[data-testid="chat-send"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="chat-parsed"] [data-testid="chat-confirm"]`, chromedp.ByQuery),
	)
	if s := bank.text(`[data-testid="chat-parsed"]`); !strings.Contains(s, "2,000,000") || !strings.Contains(s, "7.1010") {
		t.Fatalf("parsed order shows %q", s)
	}
	bank.shot("1-parsed")
	bank.run(
		chromedp.Click(`[data-testid="chat-confirm"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="chat-result"][data-status]`, chromedp.ByQuery),
	)
	if s := bank.text(`[data-testid="chat-result"]`); !strings.Contains(s, "filled 2,000,000 at 7.101") {
		t.Fatalf("chat order result %q", s)
	}
	bank.shot("2-filled")
}

// TestBrowserRegulatorReplaysBook: the regulator asks for the book at a
// moment and sees it.
func TestBrowserRegulatorReplaysBook(t *testing.T) {
	e, _ := storefrontEnv(t)
	if !slices.Contains(e.gw.Patterns(), "GET /api/v1/regulator/book/{sym}") {
		t.Skip("GET /api/v1/regulator/book/{sym} is not served yet (the regulator API)")
	}
	if _, err := e.gw.stores.st.SetListing(context.Background(), "BROKER1", "USD/CNY",
		[]storeTier{{Qty: 5_000_000, Bid: 709_900_000, Ask: 710_100_000}}, storeOrigin()); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e)
	reg := b.tab("regulator")
	reg.login(tokReg)
	reg.open("regulator")
	at := time.Now().UTC().Add(time.Second).Format("2006-01-02T15:04:05")
	reg.run(
		setInput(`#reg-book-at`, at),
		chromedp.Click(`[data-testid="reg-book-go"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="reg-book"] table, [data-testid="reg-book"] [data-testid="problem"]`, chromedp.ByQuery),
	)
	if s := reg.text(`[data-testid="reg-book"]`); !strings.Contains(s, "7.099") || !strings.Contains(s, "7.101") {
		t.Fatalf("replayed book shows %q", s)
	}
	reg.shot("book")
	// And the journal's verification.
	reg.run(
		chromedp.Click(`[data-testid="reg-verify-go"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="reg-verify"] [data-testid="verify-verdict"], [data-testid="reg-verify"] [data-testid="problem"]`, chromedp.ByQuery),
	)
	if s := reg.text(`[data-testid="reg-verify"]`); !strings.Contains(s, "Journal intact") {
		t.Fatalf("verification shows %q", s)
	}
	reg.shot("verify")
}

// TestBrowserRealAssistant: the broker's page with the real assistant
// service behind it (over the embedded NATS bus): its recommendation and
// rationale are shown, one click lists exactly those prices, and when the
// assistant stops the page says it is unreachable.
func TestBrowserRealAssistant(t *testing.T) {
	e, stopSvc := realStack(t)
	b := newBrowser(t, e)
	broker := b.tab("broker-real")
	broker.login(tokBroker)
	broker.open("broker")
	broker.run(
		chromedp.WaitVisible(`[data-testid="rec-USDCNY"] [data-testid="rationale"]`, chromedp.ByQuery),
		chromedp.WaitEnabled(`[data-testid="accept-USDCNY"]`, chromedp.ByQuery),
	)
	var rec []string
	broker.run(chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="rec-USDCNY"] [data-testid="rec-row"]')].map(r => r.innerText.replace(/\s+/g, " "))`, &rec))
	if len(rec) != 3 {
		t.Fatalf("recommendation rows %q", rec)
	}
	broker.run(
		chromedp.Click(`[data-testid="accept-USDCNY"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="listing-updated"]`, chromedp.ByQuery),
	)
	var listed []string
	broker.run(chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="listing-USDCNY"] [data-testid="tier-row"]')].map(r => r.innerText.replace(/\s+/g, " "))`, &listed))
	if !slices.Equal(rec, listed) {
		t.Fatalf("listed %q, recommended %q", listed, rec)
	}
	broker.shot("listed")
	stopSvc()
	broker.run(
		chromedp.Click(`[data-testid="listing-USDCNY"] button.secondary`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="rec-USDCNY"] [data-testid="problem"]`, chromedp.ByQuery),
	)
	if s := broker.text(`[data-testid="rec-USDCNY"] [data-testid="problem"]`); !strings.Contains(s, "Assistant unavailable") {
		t.Fatalf("with the assistant stopped the page shows %q", s)
	}
	broker.shot("assistant-down")
}

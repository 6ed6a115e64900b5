// app.js: the storefront's views and router. Views: login, the broker's
// own flagship store, the buy side's browsing of every store (hits and the
// chat box), the market (depth and price charts) and the regulator's
// replay. Each view renders into <main>, registers its timers and stream
// handlers with the view's scope, and is torn down when the route
// changes.

import { api, ApiError, token, setToken, code, fmtQty, fmtShortQty } from "./api.js";
import { Stream } from "./stream.js";
import { depthChart, priceChart } from "./charts.js";

// STALE_MS: data not refreshed for this long is flagged as stale.
const STALE_MS = 10_000;
const POLL_MS = 2_000;

const app = {
  me: null,           // {participant, role, can_trade}
  instruments: [],
  stream: null,
  scope: null,        // the current view's scope
};

// ---- DOM helpers ----

function h(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (v === true) e.setAttribute(k, "");
    else e.setAttribute(k, v);
  }
  for (const k of kids.flat()) {
    if (k === undefined || k === null || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function toast(msg, kind = "") {
  const t = h("div", { class: "toast " + kind }, msg);
  document.getElementById("toasts").append(t);
  setTimeout(() => t.remove(), 6000);
}

// problemNode shows an API failure as the venue explained it; a risk
// block lists its reasons.
function problemNode(err, what = "") {
  const p = err instanceof ApiError ? err.problem : { title: "Error", detail: String(err && err.message || err) };
  const box = h("div", { class: "notice error", "data-testid": "problem", "data-reason": p.reason || "" });
  const head = (what ? what + ": " : "") + (p.title || "Error");
  box.append(h("strong", {}, head));
  if (p.detail) box.append(h("div", {}, p.detail));
  if (p.field) box.append(h("div", { class: "small" }, "Field: ", h("code", {}, p.field)));
  if (p.reason === "risk" && Array.isArray(p.risk_reasons)) {
    box.append(h("div", {}, "Blocked by pre-trade risk scoring" + (p.risk_score !== undefined ? ` (score ${Number(p.risk_score).toFixed(2)})` : "") + ":"));
    box.append(h("ul", { "data-testid": "risk-reasons" }, p.risk_reasons.map((r) => h("li", {}, r))));
  }
  return box;
}

// freshness is a small "updated Ns ago" label that turns into a stale
// warning when its data has not been refreshed for STALE_MS.
function freshness(scope) {
  const node = h("span", { class: "small muted", "data-fresh": "never" }, "waiting for data…");
  let last = 0;
  let failed = "";
  const render = () => {
    if (!last) return;
    const age = Date.now() - last;
    if (age > STALE_MS) {
      node.className = "stale-flag";
      node.dataset.fresh = "stale";
      node.textContent = `stale: no update for ${Math.round(age / 1000)} s` + (failed ? ` (${failed})` : "");
    } else {
      node.className = "small muted";
      node.dataset.fresh = "fresh";
      node.textContent = age < 1500 ? "live" : `updated ${Math.round(age / 1000)} s ago`;
    }
  };
  scope.every(1000, render);
  return {
    node,
    touch() { last = Date.now(); failed = ""; render(); },
    fail(why) { failed = why; if (!last) { node.className = "stale-flag"; node.dataset.fresh = "failed"; node.textContent = why; } else render(); },
  };
}

// Scope collects a view's timers and handlers so leaving the view ends
// them all.
class Scope {
  constructor() { this.fns = []; this.alive = true; }
  every(ms, fn) { const id = setInterval(fn, ms); this.fns.push(() => clearInterval(id)); }
  onStream(fn) { if (app.stream) this.fns.push(app.stream.on(fn)); }
  add(fn) { this.fns.push(fn); }
  end() { this.alive = false; for (const f of this.fns) f(); this.fns = []; }
}

// poll calls fn now and every ms while the view lives; overlapping calls
// are skipped.
function poll(scope, ms, fn) {
  let busy = false;
  const run = async () => {
    if (busy || !scope.alive) return;
    busy = true;
    try { await fn(); } finally { busy = false; }
  };
  run();
  scope.every(ms, run);
  return run;
}

function sideCell(sd, cls) {
  if (!sd) return h("td", { class: "muted" }, "—");
  if (sd.state === "filled") return h("td", {}, h("span", { class: "filled" }, sd.px), " ", h("span", { class: "tag" }, "filled"));
  return h("td", {}, h("span", { class: cls }, sd.px),
    sd.cum !== "0" ? h("div", { class: "small muted" }, fmtShortQty(sd.leaves) + " left") : null);
}

const inst = (sym) => app.instruments.find((i) => i.symbol === sym);

// ---- connection state ----

function setConn(state, detail) {
  const c = document.getElementById("conn");
  c.dataset.state = state;
  const words = { offline: "offline", connecting: "connecting…", live: "live", reconnecting: "reconnecting", rejected: "rejected", closed: "closed", stale: "stale" };
  c.textContent = words[state] || state;
  c.title = detail || "";
  if (detail && (state === "rejected" || state === "reconnecting")) c.textContent += ": " + detail;
}

// ---- router ----

const views = { login: viewLogin, broker: viewBroker, buy: viewBuy, market: viewMarket, regulator: viewRegulator };

function defaultView() {
  if (!app.me) return "login";
  return { broker: "broker", regulator: "regulator" }[app.me.role] || "buy";
}

async function route() {
  if (app.scope) app.scope.end();
  const scope = (app.scope = new Scope());
  const main = document.getElementById("main");
  let name = location.hash.replace(/^#\/?/, "").split("?")[0] || "";
  if (!token()) name = "login";
  else if (!app.me) {
    main.replaceChildren(h("p", { class: "loading" }, "Checking your token…"));
    try {
      await startSession();
    } catch (e) {
      setToken("");
      app.me = null;
      main.replaceChildren(h("div", { class: "login card" }, problemNode(e, "Your token was not accepted")));
      name = "login";
    }
    if (!scope.alive) return;
  }
  if (name === "login" && app.me) name = defaultView();
  if (!views[name]) name = defaultView();
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.view === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const body = h("div", { "data-view": name });
  if (name === "login" && main.querySelector(".notice.error")) body.append(main.querySelector(".notice.error"));
  main.replaceChildren(body);
  try {
    await views[name](body, scope);
  } catch (e) {
    body.append(problemNode(e, "This view could not load"));
  }
}

async function startSession() {
  app.me = await api("GET", "/session");
  const ins = await api("GET", "/instruments");
  app.instruments = ins.instruments || [];
  document.getElementById("who").textContent = `${app.me.participant} · ${app.me.role}`;
  document.getElementById("nav").hidden = false;
  document.getElementById("logout").hidden = false;
  // Only the views of the participant's role are offered.
  for (const a of document.querySelectorAll("nav a")) {
    const v = a.dataset.view;
    a.hidden = (v === "broker" && app.me.role !== "broker") || (v === "regulator" && app.me.role !== "regulator") || (v === "buy" && !app.me.can_trade);
  }
  app.stream = new Stream(setConn);
  app.stream.start();
}

function logout() {
  setToken("");
  app.me = null;
  if (app.stream) app.stream.stop();
  app.stream = null;
  document.getElementById("who").textContent = "";
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  location.hash = "#/login";
  route();
}

// ---- login ----

async function viewLogin(root) {
  const input = h("input", { id: "token", type: "password", autocomplete: "off", required: true, spellcheck: "false" });
  const err = h("div");
  const login = async (t) => {
    setToken(t.trim());
    app.me = null;
    err.replaceChildren();
    try {
      await startSession();
      location.hash = "#/" + defaultView();
      route();
    } catch (e) {
      setToken("");
      app.me = null;
      err.replaceChildren(problemNode(e, "Log in failed"));
    }
  };
  const form = h("form", { onsubmit: (e) => { e.preventDefault(); login(input.value); } },
    h("label", { for: "token" }, "API token", input),
    h("button", { type: "submit", id: "login-btn" }, "Log in"));
  const card = h("section", { class: "card login", "aria-labelledby": "login-h" },
    h("h1", { id: "login-h" }, "Log in to fxmatch"),
    h("p", { class: "muted" }, "Paste the API token your venue operator gave you. It is kept in this tab only."),
    form, err);
  root.append(card);
  try {
    const d = await api("GET", "/storefront/demo", undefined, { auth: false });
    if (d.tokens && d.tokens.length) {
      card.append(h("div", { class: "demo" },
        h("h2", {}, "Demo participants"),
        h("p", { class: "small muted" }, "Shown because this venue runs on loopback with demo tokens."),
        h("ul", {}, d.tokens.map((t) => h("li", { class: "row" },
          h("button", { type: "button", class: "secondary", "data-token": t.token, onclick: () => login(t.token) }, `Log in as ${t.participant}`),
          h("span", { class: "small muted" }, t.role), h("code", {}, t.token))))));
    }
  } catch { /* no demo list: nothing to show */ }
  input.focus();
}

// ---- broker: my flagship store ----

const DEFAULT_TIERS = [1_000_000, 5_000_000, 20_000_000];

function tierSizes(instrument, listing) {
  if (listing && listing.tiers.length) return listing.tiers.map((t) => Number(t.qty));
  const lot = Number(instrument.lot), min = Number(instrument.min_qty), max = Number(instrument.max_qty);
  return DEFAULT_TIERS.filter((q) => q >= min && q <= max && q % lot === 0);
}

async function viewBroker(root, scope) {
  const me = app.me.participant;
  if (app.me.role !== "broker") {
    root.append(h("div", { class: "notice warn" }, `${me} is a ${app.me.role}, not a broker: it has no store.`));
    return;
  }
  root.append(h("h1", {}, `${me} — my flagship store`));
  const grid = h("div", { class: "grid" });
  root.append(grid);
  const fresh = freshness(scope);
  const positions = h("div", { "data-testid": "positions" });
  const fills = h("div", { "data-testid": "broker-fills" });
  const alerts = h("ul", { "data-testid": "alerts", class: "small" }, h("li", { class: "muted" }, "No risk alerts on your flow."));
  const cards = new Map(); // symbol → {update(listing), rec}
  for (const ins of app.instruments) cards.set(ins.symbol, listingCard(ins, grid, scope));
  grid.append(
    h("section", { class: "card wide" }, h("div", { class: "head" }, h("h2", {}, "Inventory and P&L"), fresh.node), positions),
    h("section", { class: "card wide" }, h("h2", {}, "Recent fills"), fills),
    h("section", { class: "card" }, h("h2", {}, "Risk alerts"), alerts));

  const refresh = poll(scope, POLL_MS, async () => {
    try {
      const st = await api("GET", `/stores/${encodeURIComponent(me)}`);
      fresh.touch();
      for (const [sym, c] of cards) c.update(st.listings.find((l) => l.symbol === sym) || null);
      renderPositions(positions, st.positions || []);
      renderFills(fills, st.fills || [], "You have no fills yet.");
    } catch (e) {
      fresh.fail(e.message);
    }
  });
  app.stream?.subscribe("exec");
  app.stream?.subscribe("alerts");
  for (const ins of app.instruments) app.stream?.subscribe("quotes", ins.code);
  scope.onStream((m) => {
    if (m.channel === "exec" && (m.type === "fill" || m.type === "replaced" || m.type === "cancelled")) refresh();
    if (m.channel === "alerts") {
      if (alerts.querySelector(".muted")) alerts.replaceChildren();
      alerts.prepend(h("li", {}, h("strong", {}, (m.action || "alert") + " "), `${m.cl_ord_id || m.order_id || ""} score ${Number(m.score || 0).toFixed(2)}: `, (m.reasons || []).join("; ")));
    }
    if (m.channel === "quotes" && cards.has(m.symbol)) cards.get(m.symbol).live(m);
  });
}

function renderPositions(node, list) {
  if (!list.length) { node.replaceChildren(h("p", { class: "muted" }, "No position: no fills yet.")); return; }
  node.replaceChildren(h("div", { class: "scroll" }, h("table", {},
    h("thead", {}, h("tr", {}, ["Pair", "Position", "Bought", "Sold", "Cash", "Mark", "P&L"].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, list.map((p) => h("tr", { "data-symbol": p.symbol },
      h("td", {}, p.symbol), h("td", {}, fmtQty(p.qty)), h("td", {}, fmtQty(p.bought)), h("td", {}, fmtQty(p.sold)),
      h("td", {}, `${Number(p.cash).toLocaleString("en-US")} ${p.currency}`),
      h("td", {}, p.mark, " ", h("span", { class: "tag" }, p.mark_source)),
      h("td", { class: Number(p.pnl) >= 0 ? "bid" : "ask", "data-testid": "pnl" }, `${Number(p.pnl).toLocaleString("en-US")} ${p.currency}`)))))));
}

function renderFills(node, list, none) {
  if (!list.length) { node.replaceChildren(h("p", { class: "muted" }, none)); return; }
  node.replaceChildren(h("div", { class: "scroll" }, h("table", {},
    h("thead", {}, h("tr", {}, ["Time (UTC)", "Pair", "Side", "Size", "Price", "With"].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, list.slice(0, 20).map((f) => h("tr", { "data-testid": "fill-row" },
      h("td", {}, (f.time || "").slice(11, 19)), h("td", {}, f.symbol), h("td", { class: f.side === "buy" ? "bid" : "ask" }, f.side),
      h("td", {}, fmtQty(f.qty)), h("td", {}, f.px), h("td", {}, f.counterparty || "")))))));
}

// listingCard is one pair of the broker's store: the listing as it is on
// the book, the assistant's recommendation beside it, and one click to
// list the recommendation.
function listingCard(ins, grid, scope) {
  const me = app.me.participant;
  const tiersNode = h("div");
  const recNode = h("div", { class: "rec", "data-testid": "rec-" + ins.code }, h("p", { class: "muted small" }, "Asking the assistant…"));
  const status = h("div", { "aria-live": "polite" });
  let listing = null, rec = null, sizesKey = "";
  const acceptBtn = h("button", { type: "button", "data-testid": "accept-" + ins.code, disabled: true }, "Accept recommendation");
  const withdrawBtn = h("button", { type: "button", class: "danger", hidden: true, "data-testid": "withdraw-" + ins.code }, "Withdraw listing");
  const refreshBtn = h("button", { type: "button", class: "secondary" }, "Refresh");
  const card = h("section", { class: "card", "data-testid": "listing-" + ins.code, "aria-labelledby": "lh-" + ins.code },
    h("div", { class: "head" }, h("h2", { id: "lh-" + ins.code }, ins.symbol), h("span", { class: "small muted", "data-testid": "listing-state" }, "")),
    tiersNode, recNode, h("div", { class: "row" }, acceptBtn, refreshBtn, withdrawBtn), status);
  grid.append(card);

  const renderListing = () => {
    const stateNode = card.querySelector('[data-testid="listing-state"]');
    if (!listing || !listing.tiers.length) {
      stateNode.textContent = "not listed";
      tiersNode.replaceChildren(h("p", { class: "muted" }, "Not listed. Accept the recommendation to list it."));
      withdrawBtn.hidden = true;
      return;
    }
    stateNode.textContent = "listed";
    withdrawBtn.hidden = false;
    tiersNode.replaceChildren(h("table", {},
      h("caption", { class: "small muted" }, "On the book now"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Size"), h("th", { scope: "col" }, "Bid"), h("th", { scope: "col" }, "Ask"))),
      h("tbody", {}, listing.tiers.map((t) => h("tr", { "data-testid": "tier-row", "data-qty": t.qty },
        h("td", {}, fmtShortQty(t.qty)), sideCell(t.bid, "bid"), sideCell(t.ask, "ask"))))));
  };

  const renderRec = (tiers, rationale, source) => {
    rec = tiers;
    recNode.replaceChildren(
      h("h3", {}, "Assistant's recommendation ", h("span", { class: "tag" }, source)),
      h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Size"), h("th", { scope: "col" }, "Bid"), h("th", { scope: "col" }, "Ask"))),
        h("tbody", {}, tiers.map((t) => h("tr", { "data-testid": "rec-row" }, h("td", {}, fmtShortQty(t.qty)), h("td", { class: "bid" }, t.bid), h("td", { class: "ask" }, t.ask))))),
      rationale && rationale.length ? h("ul", { class: "rationale", "data-testid": "rationale" }, rationale.map((r) => h("li", {}, r))) : null);
    acceptBtn.disabled = false;
  };

  const recommend = async () => {
    const sizes = tierSizes(ins, listing);
    sizesKey = sizes.join(",");
    try {
      const recs = [];
      for (const q of sizes) recs.push(await api("POST", "/assistant/recommend", { symbol: ins.symbol, qty: String(q) }));
      if (!scope.alive) return;
      renderRec(recs.map((r) => ({ qty: r.qty, bid: r.bid, ask: r.ask })), recs[0] && recs[0].rationale, "on request");
    } catch (e) {
      if (!scope.alive) return;
      rec = null;
      acceptBtn.disabled = true;
      recNode.replaceChildren(problemNode(e, "No recommendation"));
    }
  };

  acceptBtn.addEventListener("click", async () => {
    if (!rec) return;
    acceptBtn.disabled = true;
    status.replaceChildren(h("p", { class: "muted small" }, "Updating the listing…"));
    try {
      listing = await api("PUT", `/stores/${encodeURIComponent(me)}/listings/${ins.code}`, { tiers: rec.map((t) => ({ qty: t.qty, bid: t.bid, ask: t.ask })) });
      renderListing();
      status.replaceChildren(h("div", { class: "notice ok", "data-testid": "listing-updated" }, "Listing updated: the orders are on the book."));
    } catch (e) {
      status.replaceChildren(problemNode(e, "Listing not updated"));
    } finally {
      acceptBtn.disabled = !rec;
    }
  });
  withdrawBtn.addEventListener("click", async () => {
    withdrawBtn.disabled = true;
    try {
      await api("DELETE", `/stores/${encodeURIComponent(me)}/listings/${ins.code}`);
      listing = null;
      renderListing();
      status.replaceChildren(h("div", { class: "notice ok" }, "Listing withdrawn."));
    } catch (e) {
      status.replaceChildren(problemNode(e, "Not withdrawn"));
    } finally {
      withdrawBtn.disabled = false;
    }
  });
  refreshBtn.addEventListener("click", recommend);
  renderListing();
  let first = true;
  return {
    update(l) {
      listing = l;
      renderListing();
      // Ask at once, and again whenever the listing's sizes change.
      if (first || tierSizes(ins, listing).join(",") !== sizesKey) { first = false; recommend(); }
    },
    // A recommendation published on the bus (fxmatch.quotes.<me>.<SYM>).
    live(q) {
      if (!q.tiers || !q.tiers.length) return;
      if (q.tiers.map((t) => Number(t.qty)).join(",") !== tierSizes(ins, listing).join(",")) return;
      renderRec(q.tiers, q.rationale, "live");
    },
  };
}

// ---- buy side: browse stores ----

async function viewBuy(root, scope) {
  root.append(h("h1", {}, "Browse the brokers' stores"));
  if (!app.me.can_trade) root.append(h("div", { class: "notice warn" }, `${app.me.participant} is read-only: it can browse but not trade.`));
  const fresh = freshness(scope);
  const storesNode = h("div", { class: "grid", "data-testid": "stores" });
  const myFills = h("div", { "data-testid": "my-fills" }, h("p", { class: "muted" }, "No fills in this session yet."));
  const fillsSeen = [];
  const addFill = (f) => {
    if (f.key && fillsSeen.some((x) => x.key === f.key)) return;
    fillsSeen.unshift(f);
    renderFills(myFills, fillsSeen, "");
  };
  root.append(h("div", { class: "head" }, h("h2", {}, "Live listings"), fresh.node), storesNode);
  const side = h("div", { class: "grid" },
    chatCard(scope, addFill),
    h("section", { class: "card" }, h("h2", {}, "My fills"), myFills));
  root.append(h("div", { style: "height:14px" }), side);

  const cards = new Map();
  poll(scope, POLL_MS, async () => {
    try {
      const d = await api("GET", "/stores");
      fresh.touch();
      const seen = new Set();
      for (const st of d.stores) {
        for (const l of st.listings) {
          const key = st.broker + "/" + l.symbol;
          seen.add(key);
          if (!cards.has(key)) cards.set(key, storeListingCard(l, storesNode, addFill));
          cards.get(key).update(l);
        }
      }
      for (const [k, c] of cards) if (!seen.has(k)) { c.remove(); cards.delete(k); }
      const empty = storesNode.querySelector(".empty");
      if (!cards.size && !empty) storesNode.append(h("p", { class: "muted empty" }, "No broker lists anything right now."));
      if (cards.size && empty) empty.remove();
    } catch (e) {
      fresh.fail(e.message);
    }
  });
  app.stream?.subscribe("exec");
  scope.onStream((m) => {
    if (m.channel === "exec" && m.type === "fill") {
      addFill({ key: m.exec_id, time: m.time, symbol: m.symbol, side: m.side, qty: m.last_qty, px: m.last_px, counterparty: m.counterparty });
    }
  });
}

function storeListingCard(l, parent, addFill) {
  const id = `${l.broker}-${l.code}`;
  const tiers = h("div");
  const result = h("div", { "data-testid": "hit-result", "aria-live": "polite" });
  const sideSel = h("select", { id: "side-" + id }, h("option", { value: "buy" }, "Buy (at their ask)"), h("option", { value: "sell" }, "Sell (at their bid)"));
  const qty = h("input", { id: "qty-" + id, type: "text", inputmode: "numeric", value: l.tiers[0] ? l.tiers[0].qty : "" });
  const btn = h("button", { type: "submit", "data-testid": "hit-" + id, disabled: !app.me.can_trade }, "Hit");
  const form = h("form", { class: "inline", onsubmit: async (e) => {
    e.preventDefault();
    btn.disabled = true;
    result.replaceChildren(h("p", { class: "muted small" }, "Sending…"));
    try {
      const r = await api("POST", `/stores/${encodeURIComponent(l.broker)}/listings/${l.code}/hit`, { side: sideSel.value, qty: qty.value.trim() });
      const words = { filled: "Filled", "partially-filled": "Partly filled", "not-filled": "Not filled" }[r.status] || r.status;
      const ok = r.status !== "not-filled";
      result.replaceChildren(h("div", { class: "notice " + (ok ? "ok" : "warn"), "data-status": r.status },
        h("strong", {}, `${words}: `), `${fmtQty(r.filled_qty)} of ${fmtQty(r.qty)} ${l.symbol}` + (r.avg_px ? ` at ${r.avg_px}` : "") + ` with ${l.broker}`,
        r.reason && r.status !== "filled" ? h("div", { class: "small" }, "Rest: " + r.reason) : null));
      for (const f of r.fills) addFill({ key: r.client_order_id + f.time + f.px + f.qty, ...f, counterparty: l.broker });
    } catch (err) {
      result.replaceChildren(problemNode(err, "Hit refused"));
    } finally {
      btn.disabled = !app.me.can_trade;
    }
  } },
  h("label", { for: "side-" + id }, "Side", sideSel),
  h("label", { for: "qty-" + id }, "Size", qty), btn);
  const card = h("section", { class: "card", "data-testid": "store-" + id },
    h("h2", {}, `${l.broker} · ${l.symbol}`), tiers, form, result);
  parent.append(card);
  return {
    update(nl) {
      tiers.replaceChildren(h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Size"), h("th", { scope: "col" }, "You sell at"), h("th", { scope: "col" }, "You buy at"))),
        h("tbody", {}, nl.tiers.map((t) => h("tr", { "data-testid": "tier-row", "data-qty": t.qty },
          h("td", {}, fmtShortQty(t.qty)), sideCell(t.bid, "bid"), sideCell(t.ask, "ask"))))));
    },
    remove() { card.remove(); },
  };
}

// chatCard: type an order the way dealers talk; the assistant parses it,
// the page shows it back, and only a click on Confirm sends it.
function chatCard(scope, addFill) {
  const log = h("div", { class: "chat-log", "data-testid": "chat-log", "aria-live": "polite" },
    h("p", { class: "muted small" }, "Try: buy 5m usdcny at 7.1020 · best bid usdcny · 买入 500万 美元/人民币 7.1020"));
  const input = h("input", { id: "chat-input", type: "text", autocomplete: "off", maxlength: "512", placeholder: "buy 5m usdcny at 7.1020" });
  const send = h("button", { type: "submit", "data-testid": "chat-send" }, "Send");
  const say = (...kids) => { const p = h("p", {}, ...kids); log.append(p); log.scrollTop = log.scrollHeight; return p; };
  let n = 0;
  const confirmOrder = (o) => {
    const yes = h("button", { type: "button", "data-testid": "chat-confirm" }, "Confirm");
    const no = h("button", { type: "button", class: "secondary" }, "Cancel");
    const box = h("div", { class: "notice warn", "data-testid": "chat-parsed" },
      h("div", {}, o.confirm),
      h("div", { class: "small" }, `${o.side === 1 || o.side === "buy" ? "buy" : "sell"} ${fmtQty(o.qty)} ${o.symbol}` + (o.price ? ` @ ${o.price}` : " at market")),
      h("div", { class: "row" }, yes, no));
    log.append(box);
    log.scrollTop = log.scrollHeight;
    no.addEventListener("click", () => { box.replaceChildren("Cancelled: nothing was sent."); });
    yes.addEventListener("click", async () => {
      yes.disabled = no.disabled = true;
      const side = o.side === 1 || o.side === "buy" ? "buy" : "sell";
      const tif = { 0: "day", 1: "gtc", 3: "ioc", 4: "fok", 6: "gtd" }[o.tif] || o.tif || "day";
      const type = o.ord_type === 1 || o.ord_type === "market" ? "market" : "limit";
      const body = { client_order_id: `C.${Date.now().toString(36)}.${++n}`, symbol: o.symbol, side, type, qty: String(o.qty), tif };
      if (type === "limit") body.price = o.price;
      const res = h("div", { "data-testid": "chat-result" }, "Sending…");
      box.replaceChildren(res);
      try {
        const r = await api("POST", "/orders", body);
        const filled = Number(r.cum_qty || 0);
        res.className = "notice " + (r.status === "rejected" ? "error" : "ok");
        res.dataset.status = r.status;
        res.replaceChildren(h("strong", {}, r.status), `: ${side} ${fmtQty(r.qty)} ${r.symbol}` +
          (filled ? `, filled ${fmtQty(r.cum_qty)} at ${r.avg_px}` : "") + (r.live ? ", resting on the book" : "") + (r.text ? ` (${r.text})` : ""));
        for (const f of r.fills || []) addFill({ key: r.client_order_id + f.trade_id, time: f.time, symbol: r.symbol, side, qty: f.qty, px: f.px, counterparty: f.counterparty });
      } catch (e) {
        res.replaceWith(problemNode(e, "Order not sent"));
      }
    });
  };
  const form = h("form", { class: "inline", onsubmit: async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    say(h("span", { class: "me" }, "You: "), text);
    input.value = "";
    send.disabled = true;
    try {
      const r = await api("POST", "/assistant/chat", { text });
      if (r.kind === "order" && r.order) confirmOrder(r.order);
      else if (r.kind === "question") say(h("strong", {}, "Assistant: "), r.answer || JSON.stringify(r.question));
      else if (r.clarify) {
        say(h("strong", {}, "Assistant: "), r.clarify.question);
        if (r.clarify.pending) confirmOrder(r.clarify.pending);
      } else say(h("strong", {}, "Assistant: "), "I did not understand that.");
    } catch (err) {
      log.append(problemNode(err, "The assistant could not answer"));
    } finally {
      send.disabled = false;
      input.focus();
    }
  } }, h("label", { for: "chat-input", style: "flex:1 1 220px" }, "Message to the assistant", input), send);
  return h("section", { class: "card", "data-testid": "chat" }, h("h2", {}, "Chat an order"), log, form);
}

// ---- market ----

async function viewMarket(root, scope) {
  root.append(h("h1", {}, "Market"));
  let cur = (location.hash.split("?sym=")[1] || app.instruments[0]?.code || "").toUpperCase();
  const tabs = h("div", { class: "tabs", role: "group", "aria-label": "Pair" });
  const body = h("div");
  root.append(tabs, body);
  for (const ins of app.instruments) {
    tabs.append(h("button", { type: "button", "aria-pressed": String(ins.code === cur), onclick: () => { location.hash = "#/market?sym=" + ins.code; } }, ins.symbol));
  }
  const ins = app.instruments.find((i) => i.code === cur);
  if (!ins) { body.append(h("p", {}, "No instruments.")); return; }
  const fresh = freshness(scope);
  const depthNode = h("div", { "data-testid": "depth-chart" });
  const priceNode = h("div", { "data-testid": "price-chart" });
  const bookNode = h("div", { class: "scroll" });
  const tradesNode = h("div", { class: "scroll" });
  body.append(h("div", { class: "grid" },
    h("section", { class: "card" }, h("div", { class: "head" }, h("h2", {}, `${ins.symbol} depth`), fresh.node), depthNode),
    h("section", { class: "card" }, h("h2", {}, `${ins.symbol} recent trades`), priceNode),
    h("section", { class: "card" }, h("h2", {}, "Book"), bookNode),
    h("section", { class: "card" }, h("h2", {}, "Trades"), tradesNode)));
  let book = { bids: [], asks: [] };
  let trades = [];
  const drawBook = () => {
    depthNode.replaceChildren(depthChart(book, ins.symbol));
    const n = Math.max(book.bids.length, book.asks.length, 1);
    const rows = [];
    for (let i = 0; i < Math.min(n, 10); i++) {
      const b = book.bids[i], a = book.asks[i];
      rows.push(h("tr", {}, h("td", {}, b ? fmtShortQty(b.qty) : ""), h("td", { class: "bid" }, b ? b.px : ""), h("td", { class: "ask" }, a ? a.px : ""), h("td", {}, a ? fmtShortQty(a.qty) : "")));
    }
    bookNode.replaceChildren(h("table", { "data-testid": "book-table" },
      h("thead", {}, h("tr", {}, ["Bid size", "Bid", "Ask", "Ask size"].map((x) => h("th", { scope: "col" }, x)))), h("tbody", {}, rows)));
  };
  const drawTrades = () => {
    priceNode.replaceChildren(priceChart(trades, ins.symbol));
    tradesNode.replaceChildren(h("table", {},
      h("thead", {}, h("tr", {}, ["Time (UTC)", "Price", "Size", "Aggressor"].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, trades.slice(-15).reverse().map((t) => h("tr", {}, h("td", {}, (t.time || "").slice(11, 23)), h("td", {}, t.px), h("td", {}, fmtShortQty(t.qty)), h("td", {}, t.aggressor_side || ""))))));
  };
  drawBook();
  drawTrades();
  // REST keeps the view right even without the stream; the stream makes
  // it live between polls.
  poll(scope, 5000, async () => {
    try {
      const [b, t] = await Promise.all([api("GET", `/books/${ins.code}?depth=20`), api("GET", `/trades/${ins.code}?limit=200`).catch(() => null)]);
      book = b;
      if (t) trades = (t.trades || t || []).slice().sort((x, y) => Date.parse(x.time) - Date.parse(y.time));
      fresh.touch();
      drawBook();
      drawTrades();
    } catch (e) {
      fresh.fail(e.message);
    }
  });
  app.stream?.subscribe("book", ins.code);
  app.stream?.subscribe("trades", ins.code);
  scope.onStream((m) => {
    if (m.symbol !== ins.symbol) return;
    if (m.channel === "book") { book = m; fresh.touch(); drawBook(); }
    if (m.channel === "trades") { trades.push(m); if (trades.length > 500) trades.shift(); fresh.touch(); drawTrades(); }
  });
}

// ---- regulator ----

// table renders an array of flat objects as a table (the regulator's
// answers are shown as the venue gives them).
function table(rows, testid) {
  if (!rows.length) return h("p", { class: "muted" }, "Nothing.");
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => typeof rows[0][k] !== "object" || rows[0][k] === null);
  return h("div", { class: "scroll" }, h("table", { "data-testid": testid },
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, cols.map((c) => h("td", {}, r[c] === undefined || r[c] === null ? "" : String(r[c]))))))));
}

function renderAnswer(node, d, testid) {
  node.replaceChildren();
  if (d && Array.isArray(d.bids) && Array.isArray(d.asks)) {
    node.append(h("p", { class: "small muted" }, Object.entries(d).filter(([, v]) => typeof v !== "object").map(([k, v]) => `${k}: ${v}`).join(" · ")));
    node.append(h("div", { class: "grid" },
      h("div", {}, h("h3", {}, "Bids"), table(d.bids, testid + "-bids")),
      h("div", {}, h("h3", {}, "Asks"), table(d.asks, testid + "-asks"))));
    if (d.orders && Array.isArray(d.orders.bids)) {
      node.append(h("h3", {}, "Orders in priority (L3)"), h("div", { class: "grid" },
        h("div", {}, h("h3", {}, "Bids"), table(d.orders.bids, testid + "-l3-bids")),
        h("div", {}, h("h3", {}, "Asks"), table(d.orders.asks || [], testid + "-l3-asks"))));
    }
    node.append(h("details", {}, h("summary", { class: "small" }, "Raw answer"), h("pre", { class: "json" }, JSON.stringify(d, null, 2))));
    return;
  }
  if (d && typeof d.intact === "boolean") {
    node.append(h("div", { class: "notice " + (d.intact && d.complete !== false ? "ok" : "error"), "data-testid": "verify-verdict", "data-intact": String(d.intact) },
      h("strong", {}, d.intact ? (d.complete === false ? "Intact so far (not complete)" : "Journal intact") : "Journal NOT intact"),
      d.detail ? h("div", {}, d.detail) : null));
  }
  const arrays = d && typeof d === "object" ? Object.entries(d).filter(([, v]) => Array.isArray(v)) : [];
  if (Array.isArray(d)) node.append(table(d, testid));
  else {
    const flat = d && typeof d === "object" ? Object.entries(d).filter(([, v]) => typeof v !== "object" || v === null) : [];
    if (flat.length) node.append(h("dl", { class: "small" }, flat.map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])));
    for (const [k, v] of arrays) node.append(h("h3", {}, k), v.length && typeof v[0] === "object" ? table(v, testid + "-" + k) : h("p", {}, v.join(", ")));
  }
  node.append(h("details", {}, h("summary", { class: "small" }, "Raw answer"), h("pre", { class: "json" }, JSON.stringify(d, null, 2))));
}

async function viewRegulator(root, scope) {
  root.append(h("h1", {}, "Regulator — replay the journal"));
  if (app.me.role !== "regulator") {
    root.append(h("div", { class: "notice warn" }, `${app.me.participant} is not a regulator: these queries will be refused.`));
  }
  const symSelect = (id) => h("select", { id }, app.instruments.map((i) => h("option", { value: i.code }, i.symbol)));
  const nowLocal = new Date().toISOString().slice(0, 19);
  const card = (title, testid, fields, submit) => {
    const out = h("div", { "data-testid": testid, "aria-live": "polite" });
    const btn = h("button", { type: "submit", "data-testid": testid + "-go" }, "Show");
    const form = h("form", { class: "inline", onsubmit: async (e) => {
      e.preventDefault();
      btn.disabled = true;
      out.replaceChildren(h("p", { class: "muted small" }, "Replaying…"));
      try { renderAnswer(out, await submit(), testid); } catch (err) { out.replaceChildren(problemNode(err, title)); } finally { btn.disabled = false; }
    } }, fields, btn);
    return h("section", { class: "card wide" }, h("h2", {}, title), form, out);
  };
  const bookSym = symSelect("reg-book-sym");
  const bookAt = h("input", { id: "reg-book-at", type: "datetime-local", step: "1", value: nowLocal });
  const ordId = h("input", { id: "reg-order-id", type: "text" });
  const ordParty = h("input", { id: "reg-order-party", type: "text", placeholder: "BANKA" });
  const trSym = symSelect("reg-trades-sym");
  const trFrom = h("input", { id: "reg-trades-from", type: "datetime-local", step: "1", value: new Date(Date.now() - 86400e3).toISOString().slice(0, 19) });
  const trTo = h("input", { id: "reg-trades-to", type: "datetime-local", step: "1", value: nowLocal });
  const utc = (v) => (v.length === 16 ? v + ":00" : v) + "Z";
  root.append(h("p", { class: "muted small" }, "Times are UTC. Everything here is read from the journal; nothing can be changed."));
  root.append(h("div", { class: "grid" },
    card("Book at a moment", "reg-book", [h("label", { for: "reg-book-sym" }, "Pair", bookSym), h("label", { for: "reg-book-at" }, "At (UTC)", bookAt)],
      () => api("GET", `/regulator/book/${bookSym.value}?at=${encodeURIComponent(utc(bookAt.value))}`)),
    card("An order's life", "reg-order", [h("label", { for: "reg-order-id" }, "Client order ID", ordId), h("label", { for: "reg-order-party" }, "Participant", ordParty)],
      () => api("GET", `/regulator/orders/${encodeURIComponent(ordId.value.trim())}?party=${encodeURIComponent(ordParty.value.trim())}`)),
    card("Trades", "reg-trades", [h("label", { for: "reg-trades-sym" }, "Pair", trSym), h("label", { for: "reg-trades-from" }, "From (UTC)", trFrom), h("label", { for: "reg-trades-to" }, "To (UTC)", trTo)],
      () => api("GET", `/regulator/trades/${trSym.value}?from=${encodeURIComponent(utc(trFrom.value))}&to=${encodeURIComponent(utc(trTo.value))}`)),
    card("Journal verification", "reg-verify", [h("span", { class: "muted small" }, "Checks every shard's hash chain from genesis and re-executes every command.")],
      () => api("GET", "/regulator/verify"))));
}

// ---- start ----

document.getElementById("logout").addEventListener("click", logout);
window.addEventListener("hashchange", route);
route();

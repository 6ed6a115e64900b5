// stream.js: the venue's WebSocket stream, kept open. It reconnects with
// backoff, re-sends its subscriptions after each reconnect, and reports
// its state — connecting, live, reconnecting (with the delay), rejected
// (the venue refused the token or a subscription, with the reason), closed
// — to one listener, so the page always says whether what it shows is
// live.

import { token } from "./api.js";

export class Stream {
  constructor(onState) {
    this.onState = onState;
    this.subs = new Map();     // key → {channel, symbol}
    this.handlers = new Set(); // fn(msg)
    this.ws = null;
    this.backoff = 500;
    this.closed = false;
    this.timer = null;
    this.lastMessage = 0;
  }

  state(s, detail = "") {
    this.current = s;
    this.onState(s, detail);
  }

  start() {
    this.closed = false;
    this.connect();
  }

  connect() {
    if (this.closed) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    // Browsers cannot set an Authorization header on a WebSocket: the
    // token goes in the first message (not the URL, which ends up in logs).
    const url = `${proto}//${location.host}/api/v1/stream`;
    this.state("connecting");
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      this.retry("could not open: " + e.message);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = 500;
      ws.send(JSON.stringify({ op: "auth", token: token() }));
      this.state("live");
      for (const s of this.subs.values()) this.sendSub("subscribe", s);
    };
    ws.onmessage = (ev) => {
      this.lastMessage = Date.now();
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      // An "error" message refuses one request (a channel the venue does
      // not offer now, say); the views show it, the connection stays up.
      if (msg.channel === "error") this.lastError = msg.detail || "refused";
      for (const h of this.handlers) {
        try { h(msg); } catch (e) { console.error(e); }
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed) { this.state("closed"); return; }
      // A refused token would be refused again: say so and stop. Anything
      // else (a slow-consumer cut, a restart) is worth a reconnect.
      if (/auth/i.test(ev.reason || "") || (ev.code >= 4000 && ev.code < 5000)) {
        this.state("rejected", ev.reason || "the venue closed the stream (" + ev.code + ")");
        return;
      }
      this.retry(ev.reason || "connection lost");
    };
  }

  retry(why) {
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, 10_000);
    this.state("reconnecting", `${why}; retrying in ${Math.round(wait / 1000)} s`);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), wait);
  }

  sendSub(op, s) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      const m = { op, channel: s.channel };
      if (s.symbol) m.symbol = s.symbol;
      this.ws.send(JSON.stringify(m));
    }
  }

  subscribe(channel, symbol) {
    const key = channel + ":" + (symbol || "");
    if (this.subs.has(key)) return;
    const s = { channel, symbol };
    this.subs.set(key, s);
    this.sendSub("subscribe", s);
  }

  unsubscribeAll() {
    for (const s of this.subs.values()) this.sendSub("unsubscribe", s);
    this.subs.clear();
  }

  on(fn) {
    this.handlers.add(fn);
    return () => this.handlers.delete(fn);
  }

  stop() {
    this.closed = true;
    clearTimeout(this.timer);
    this.subs.clear();
    this.handlers.clear();
    if (this.ws) this.ws.close(1000, "logged out");
    this.ws = null;
    this.state("offline");
  }
}

// charts.js: the market view's pictures as SVG — the depth chart
// (cumulative size against price, bids left and asks right) and the
// recent price chart (each trade's price over time). Pure functions of the
// data: they return an SVG element, so a redraw is a replacement.

const NS = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function frame(w, h, label) {
  const svg = el("svg", { viewBox: `0 0 ${w} ${h}`, class: "chart", role: "img", "aria-label": label });
  svg.appendChild(el("title", {}, label));
  return svg;
}

function empty(svg, w, h, msg) {
  svg.appendChild(el("text", { x: w / 2, y: h / 2, "text-anchor": "middle" }, msg));
  return svg;
}

// depthChart draws book = {bids:[{px,qty}], asks:[{px,qty}]} (best first).
export function depthChart(book, symbol) {
  const W = 560, H = 220, P = 34;
  const svg = frame(W, H, `${symbol} depth: cumulative size by price`);
  svg.dataset.chart = "depth";
  const bids = (book?.bids || []).map((l) => [Number(l.px), Number(l.qty)]);
  const asks = (book?.asks || []).map((l) => [Number(l.px), Number(l.qty)]);
  if (!bids.length && !asks.length) return empty(svg, W, H, "No orders on the book");
  const cum = (levels) => { let c = 0; return levels.map(([p, q]) => [p, (c += q)]); };
  const cb = cum(bids), ca = cum(asks);
  const prices = [...cb, ...ca].map((x) => x[0]);
  let lo = Math.min(...prices), hi = Math.max(...prices);
  if (hi === lo) { lo -= lo * 0.0005 || 1; hi += hi * 0.0005 || 1; }
  const maxQ = Math.max(...cb.map((x) => x[1]), ...ca.map((x) => x[1]));
  const x = (p) => P + ((p - lo) / (hi - lo)) * (W - 2 * P);
  const y = (q) => H - P - (q / maxQ) * (H - 2 * P);
  const area = (pts, cls, color) => {
    if (!pts.length) return;
    // A step line from the best price outwards, closed down to the axis.
    let d = `M${x(pts[0][0])},${y(0)}`;
    let prevY = y(0);
    for (const [p, q] of pts) { d += ` L${x(p)},${prevY} L${x(p)},${y(q)}`; prevY = y(q); }
    d += ` L${x(pts[pts.length - 1][0])},${y(0)} Z`;
    svg.appendChild(el("path", { d, fill: color, "fill-opacity": "0.25", stroke: color, "stroke-width": "1.5", class: cls }));
  };
  area(cb, "bids", "#0a6b3d");
  area(ca, "asks", "#a3221b");
  svg.appendChild(el("line", { x1: P, y1: H - P, x2: W - P, y2: H - P, stroke: "#8995a6" }));
  svg.appendChild(el("text", { x: P, y: H - P + 16 }, String(lo)));
  svg.appendChild(el("text", { x: W - P, y: H - P + 16, "text-anchor": "end" }, String(hi)));
  svg.appendChild(el("text", { x: P, y: P - 12 }, (maxQ / 1e6).toLocaleString("en-US") + "m"));
  return svg;
}

// priceChart draws trades = [{px, time}] (oldest first).
export function priceChart(trades, symbol) {
  const W = 560, H = 200, P = 34;
  const svg = frame(W, H, `${symbol} recent trade prices`);
  svg.dataset.chart = "price";
  const pts = trades.map((t) => [Date.parse(t.time), Number(t.px)]).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
  if (!pts.length) return empty(svg, W, H, "No trades yet");
  let t0 = pts[0][0], t1 = pts[pts.length - 1][0];
  if (t1 === t0) { t0 -= 1000; t1 += 1000; }
  let lo = Math.min(...pts.map((p) => p[1])), hi = Math.max(...pts.map((p) => p[1]));
  if (hi === lo) { lo -= lo * 0.0002 || 1; hi += hi * 0.0002 || 1; }
  const x = (t) => P + ((t - t0) / (t1 - t0)) * (W - 2 * P);
  const y = (p) => H - P - ((p - lo) / (hi - lo)) * (H - 2 * P);
  const d = pts.map(([t, p], i) => `${i ? "L" : "M"}${x(t).toFixed(1)},${y(p).toFixed(1)}`).join(" ");
  svg.appendChild(el("path", { d, fill: "none", stroke: "#0b5cad", "stroke-width": "2", class: "line" }));
  for (const [t, p] of pts.slice(-50)) svg.appendChild(el("circle", { cx: x(t), cy: y(p), r: 2.2, fill: "#0b5cad" }));
  svg.appendChild(el("text", { x: 4, y: y(hi) + 4 }, String(hi)));
  svg.appendChild(el("text", { x: 4, y: y(lo) + 4 }, String(lo)));
  svg.appendChild(el("text", { x: W - P, y: H - 8, "text-anchor": "end" }, new Date(t1).toISOString().slice(11, 19) + " UTC"));
  return svg;
}

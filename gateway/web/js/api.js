// api.js: the venue's HTTP API, with the caller's token. Every failure is
// an ApiError carrying the RFC 9457 problem the venue sent (or a made-up
// one for a network failure), so views can always say what went wrong.

const TOKEN_KEY = "fxmatch.token";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// api sends a request to /api/v1 + path; body, if given, is sent as JSON.
// It resolves to the decoded JSON (null for 204).
export async function api(method, path, body, { signal, auth = true } = {}) {
  const headers = {};
  if (auth && token()) headers["Authorization"] = "Bearer " + token();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch("/api/v1" + path, {
      method, headers, signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, { title: "Network error", detail: "the venue could not be reached (" + e.message + ")" });
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) {
    throw new ApiError(res.status, data && typeof data === "object" ? data : { title: `HTTP ${res.status}`, detail: text.slice(0, 200) });
  }
  return data;
}

// code is a symbol's code in URL paths: "USD/CNY" → "USDCNY".
export const code = (sym) => sym.replace("/", "");

// Quantities are strings of base units; show them with separators and
// millions as "5m" where exact.
export function fmtQty(q) {
  const n = Number(q);
  if (!Number.isFinite(n)) return String(q);
  return n.toLocaleString("en-US");
}

export function fmtShortQty(q) {
  const n = Number(q);
  if (Number.isFinite(n) && n !== 0 && n % 1_000_000 === 0) return (n / 1_000_000) + "m";
  return fmtQty(q);
}

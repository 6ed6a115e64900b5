// Package web is the storefront: the page brokers, buy-side dealers,
// market watchers and regulators use, as plain HTML, CSS and JavaScript
// modules embedded in the binary. There is no build step and no npm: the
// files are served as they are written, so what the browser tests drive is
// exactly what ships.
//
// The page talks only to the venue's public HTTP API (/api/v1/…) and its
// WebSocket stream; it holds no state the API does not give it, keeps the
// API token in the tab's sessionStorage, and shows the state of its data
// (connecting, live, stale, reconnecting, rejected) rather than failing
// silently.
package web

import "embed"

// Files are the storefront's files: index.html, app.css and the JS
// modules under js/.
//
//go:embed index.html app.css js
var Files embed.FS

// Package threads applies per-thread kernel settings to every thread of
// this process. On Linux a CPU mask or a scheduling policy is a thread's,
// not the process's, and a Go program has several threads before main
// runs; a thread made later inherits its creator's settings, so setting
// every thread that exists sets them for the process from then on.
package threads

import "errors"

// ErrUnsupported is returned where the operating system offers no way to
// do it (everywhere but Linux).
var ErrUnsupported = errors.New("threads: not supported on this operating system")

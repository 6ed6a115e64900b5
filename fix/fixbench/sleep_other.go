//go:build !linux

package fixbench

import "time"

// preparePacerThread: only Linux has a per-thread timer slack to lower.
func preparePacerThread() {}

// nanosleep sleeps d ns. Outside Linux it is a Go timer, which may wake
// a millisecond late: the send lag shows it.
func nanosleep(d int64) { time.Sleep(time.Duration(d)) }

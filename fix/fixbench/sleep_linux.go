package fixbench

import (
	"syscall"
	"unsafe"
)

// prSetTimerSlack is prctl(2)'s PR_SET_TIMERSLACK.
const prSetTimerSlack = 29

// preparePacerThread sets the calling thread's timer slack to 1 ns. Linux
// lets a sleep end up to the slack (50 µs by default) late so that it can
// batch wake-ups; the pacer's sleeps are already as late as the machine
// makes them. The caller has locked the goroutine to its thread and never
// unlocks it, so the setting ends with the thread.
func preparePacerThread() {
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, 1, 0)
}

// nanosleep sleeps d ns on the calling thread. Short sleeps do not tell
// the Go scheduler (RawSyscall): the pacer keeps its P, which costs the
// readers nothing on a 2-core machine, and saves the scheduler's
// syscall bookkeeping on every one of up to 10,000 wake-ups a second.
// Long sleeps (the pacer idle between far-apart orders) go through
// syscall.Nanosleep, which hands the P over to whoever needs it.
func nanosleep(d int64) {
	ts := syscall.NsecToTimespec(d)
	if d > 1_000_000 {
		_ = syscall.Nanosleep(&ts, nil)
		return
	}
	_, _, _ = syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
}

package threads

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

// Each calls set for every thread of this process: each thread listed in
// /proc/self/task, listing again until a pass finds none not yet set (a
// thread a not-yet-set one creates meanwhile inherits the old setting).
// set returns the errno of its system call; ESRCH (the thread has exited
// since) is not an error.
func Each(set func(tid int) syscall.Errno) error { return eachOf(os.Getpid(), set) }

// eachOf is Each for process pid.
func eachOf(pid int, set func(tid int) syscall.Errno) error {
	done := map[int]bool{}
	for pass := 0; ; pass++ {
		tids, err := Tasks(pid)
		if err != nil {
			return err
		}
		fresh := false
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			fresh = true
			if e := set(tid); e != 0 && e != syscall.ESRCH {
				return e
			}
			done[tid] = true
		}
		if !fresh {
			return nil
		}
		if pass == 10 {
			return fmt.Errorf("threads kept appearing while setting them")
		}
	}
}

// Tasks lists the thread IDs of process pid (/proc/PID/task).
func Tasks(pid int) ([]int, error) {
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return nil, err
	}
	var tids []int
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			return nil, fmt.Errorf("/proc/%d/task/%s: not a thread ID", pid, t.Name())
		}
		tids = append(tids, tid)
	}
	return tids, nil
}

// schedIdle is Linux's SCHED_IDLE policy: a thread under it runs only
// when no thread of another policy wants the CPU, and a waking thread of
// another policy preempts it at once.
const schedIdle uintptr = 5

// SetIdle puts every thread of this process under SCHED_IDLE (see
// schedIdle): for a process whose work must never delay another's.
func SetIdle() error { return setPolicy(os.Getpid(), schedIdle, 0) }

// schedFIFO is Linux's real-time first-in first-out policy: a runnable
// thread under it preempts every thread of the normal and idle policies
// at once, and runs until it blocks, yields or a thread of a higher
// real-time priority wants the CPU. The kernel's real-time throttling
// (kernel.sched_rt_runtime_us, 95% of each second by default) still
// leaves the other policies a share of every CPU.
const schedFIFO uintptr = 1

// MaxRealtime is the highest SCHED_FIFO priority Linux has.
const MaxRealtime = 99

func checkPrio(prio int) error {
	if prio < 1 || prio > MaxRealtime {
		return fmt.Errorf("real-time priority %d: want 1 to %d", prio, MaxRealtime)
	}
	return nil
}

// SetRealtime puts every thread of this process under SCHED_FIFO at
// priority prio (1 to MaxRealtime); threads made later inherit it. The
// caller needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least prio; without
// either the error wraps syscall.EPERM.
func SetRealtime(prio int) error {
	if err := checkPrio(prio); err != nil {
		return err
	}
	return setPolicy(os.Getpid(), schedFIFO, int32(prio))
}

// SetProcessIdle sets every thread of process pid under SCHED_IDLE (idle
// true) or back under the normal policy, SCHED_OTHER (false). The caller
// needs the right to (the same user, or CAP_SYS_NICE).
func SetProcessIdle(pid int, idle bool) error {
	policy := schedOther
	if idle {
		policy = schedIdle
	}
	return setPolicy(pid, policy, 0)
}

// SetProcessRealtime sets every thread of process pid under SCHED_FIFO
// at priority prio (a process under SCHED_IDLE leaves it only with
// RLIMIT_NICE 20 or CAP_SYS_NICE, besides the right to prio).
func SetProcessRealtime(pid, prio int) error {
	if err := checkPrio(prio); err != nil {
		return err
	}
	return setPolicy(pid, schedFIFO, int32(prio))
}

// CanRealtime says whether this process may put its threads under
// SCHED_FIFO at prio, without changing any thread it runs on: it tries on
// a thread of its own, locked to a goroutine that ends with it (the Go
// runtime then ends the thread, or parks it for good if it is the main
// one), and puts that thread back first.
func CanRealtime(prio int) error {
	if err := checkPrio(prio); err != nil {
		return err
	}
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes with the goroutine
		param := struct{ priority int32 }{int32(prio)}
		if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, 0, schedFIFO, uintptr(unsafe.Pointer(&param))); e != 0 {
			done <- fmt.Errorf("sched_setscheduler(SCHED_FIFO): %w", e)
			return
		}
		param.priority = 0
		syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, 0, schedOther, uintptr(unsafe.Pointer(&param)))
		done <- nil
	}()
	return <-done
}

// schedOther is Linux's normal time-sharing policy.
const schedOther uintptr = 0

func setPolicy(pid int, policy uintptr, prio int32) error {
	param := struct{ priority int32 }{prio}
	err := eachOf(pid, func(tid int) syscall.Errno {
		_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), policy, uintptr(unsafe.Pointer(&param)))
		return e
	})
	if err != nil {
		return fmt.Errorf("sched_setscheduler(%s): %w", policyName(policy), err)
	}
	return nil
}

func policyName(p uintptr) string {
	switch p {
	case schedIdle:
		return "SCHED_IDLE"
	case schedFIFO:
		return "SCHED_FIFO"
	}
	return "SCHED_OTHER"
}

var policyNames = map[uintptr]string{0: "SCHED_OTHER", 1: "SCHED_FIFO", 2: "SCHED_RR", 3: "SCHED_BATCH", 5: "SCHED_IDLE", 6: "SCHED_DEADLINE", 7: "SCHED_EXT"}

// Policy is thread tid's scheduling policy and real-time priority (0
// unless SCHED_FIFO or SCHED_RR) as Linux names them, e.g. "SCHED_FIFO",
// 10. tid 0 is the calling thread.
func Policy(tid int) (string, int, error) {
	p, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETSCHEDULER, uintptr(tid), 0, 0)
	if e != 0 {
		return "", 0, fmt.Errorf("sched_getscheduler(%d): %w", tid, e)
	}
	var param struct{ priority int32 }
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETPARAM, uintptr(tid), uintptr(unsafe.Pointer(&param)), 0); e != 0 {
		return "", 0, fmt.Errorf("sched_getparam(%d): %w", tid, e)
	}
	p &^= 0x40000000 // without SCHED_RESET_ON_FORK
	name, ok := policyNames[p]
	if !ok {
		name = fmt.Sprintf("policy %d", p)
	}
	return name, int(param.priority), nil
}

// maxCPUs is the most CPUs a mask here holds.
const maxCPUs = 1024

type cpuMask [maxCPUs / 64]uint64

// SetAffinity restricts every thread of this process to cpus
// (sched_setaffinity). A CPU at or beyond maxCPUs is refused by number;
// EINVAL from the kernel (none of cpus is in the process's cpuset or
// online) is returned as syscall.EINVAL.
func SetAffinity(cpus []int) error {
	var m cpuMask
	for _, c := range cpus {
		if c < 0 || c >= maxCPUs {
			return fmt.Errorf("CPU %d: want 0 to %d", c, maxCPUs-1)
		}
		m[c/64] |= 1 << (c % 64)
	}
	return Each(func(tid int) syscall.Errno {
		_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid), unsafe.Sizeof(m), uintptr(unsafe.Pointer(&m)))
		return e
	})
}

// Affinity is the CPUs the calling thread may run on (sched_getaffinity).
func Affinity() ([]int, error) {
	var m cpuMask
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(m), uintptr(unsafe.Pointer(&m))); e != 0 {
		return nil, fmt.Errorf("sched_getaffinity: %w", e)
	}
	var cpus []int
	for c := range maxCPUs {
		if m[c/64]&(1<<(c%64)) != 0 {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

//go:build !linux

package threads

import "syscall"

// Each is Linux-only (see threads_linux.go).
func Each(func(tid int) syscall.Errno) error { return ErrUnsupported }

// SetIdle is Linux-only (see threads_linux.go).
func SetIdle() error { return ErrUnsupported }

// MaxRealtime is Linux's highest SCHED_FIFO priority.
const MaxRealtime = 99

// SetRealtime is Linux-only (see threads_linux.go).
func SetRealtime(int) error { return ErrUnsupported }

// SetProcessRealtime is Linux-only (see threads_linux.go).
func SetProcessRealtime(int, int) error { return ErrUnsupported }

// CanRealtime is Linux-only (see threads_linux.go).
func CanRealtime(int) error { return ErrUnsupported }

// Tasks is Linux-only (see threads_linux.go).
func Tasks(int) ([]int, error) { return nil, ErrUnsupported }

// Policy is Linux-only (see threads_linux.go).
func Policy(int) (string, int, error) { return "", 0, ErrUnsupported }

// SetProcessIdle is Linux-only (see threads_linux.go).
func SetProcessIdle(int, bool) error { return ErrUnsupported }

// SetAffinity is Linux-only (see threads_linux.go).
func SetAffinity([]int) error { return ErrUnsupported }

// Affinity is Linux-only (see threads_linux.go).
func Affinity() ([]int, error) { return nil, ErrUnsupported }

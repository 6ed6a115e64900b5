//go:build !linux

package threads

import "syscall"

// Each is Linux-only (see threads_linux.go).
func Each(func(tid int) syscall.Errno) error { return ErrUnsupported }

// SetIdle is Linux-only (see threads_linux.go).
func SetIdle() error { return ErrUnsupported }

// SetProcessIdle is Linux-only (see threads_linux.go).
func SetProcessIdle(int, bool) error { return ErrUnsupported }

// SetAffinity is Linux-only (see threads_linux.go).
func SetAffinity([]int) error { return ErrUnsupported }

// Affinity is Linux-only (see threads_linux.go).
func Affinity() ([]int, error) { return nil, ErrUnsupported }

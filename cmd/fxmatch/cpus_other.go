//go:build !linux

package main

import (
	"errors"
	"runtime"
)

func allowedCPUs() ([]int, error) {
	cpus := make([]int, runtime.NumCPU())
	for i := range cpus {
		cpus[i] = i
	}
	return cpus, nil
}

func pinProcess([]int) error {
	return errors.New("pinning to CPUs is supported on Linux only")
}

func setRealtime(int) error {
	return errors.New("real-time priority is supported on Linux only")
}

func checkRealtime(prio int) error { return setRealtime(prio) }

func rtThrottled() bool { return true }

package threads

import (
	"errors"
	"os"
)

var errNotIdle = errors.New("a thread is not under SCHED_IDLE")

func osArgs() []string { return os.Args[1:] }

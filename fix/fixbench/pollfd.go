package fixbench

// pollFD is struct pollfd of poll(2), for the detached sockets
// (detach_linux.go; elsewhere waitFDs does nothing with it).
type pollFD struct {
	fd             int32
	events, revent int16
}

const (
	pollIn  = 0x1
	pollOut = 0x4
)

package fixbench

import (
	"io"
	"net"
	"syscall"
	"time"
	"unsafe"
)

// detach takes the client's TCP socket from the Go runtime's network
// poller, for a load generator that reads and writes it from one thread
// of its own (the pacer): it keeps a duplicate of the descriptor, closes
// the net.Conn (which removes the socket from the runtime's epoll set, so
// that an arriving report no longer wakes a runtime thread for nothing),
// and asks the kernel to stamp what arrives with its receive time
// (SO_TIMESTAMPNS), which the reads then return (Client.rxTime). From
// then on the client's writes go straight to the socket, and Next returns
// errWouldBlock when nothing is there: the caller polls.
//
// Only a plain TCP connection can be detached (TLS needs the tls.Conn);
// the caller keeps a reader goroutine for the others.
func (c *Client) detach() error {
	tc, ok := c.conn.(*net.TCPConn)
	if !ok {
		return errNotDetachable
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(f uintptr) { fd, derr = syscall.Dup(int(f)) }); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		syscall.Close(fd)
		return err
	}
	// The duplicate shares the open file: non-blocking, as the runtime
	// made it. Closing the original closes one descriptor, not the
	// connection.
	c.conn.Close()
	c.fdr = &fdReader{fd: fd}
	c.fd = fd
	c.r.r = c.fdr
	return nil
}

// fdReader reads a detached socket without blocking.
type fdReader struct {
	fd  int
	oob [64]byte
	// at is the kernel's receive time (Unix ns) of the newest bytes of
	// the latest read, 0 if it gave none. TCP keeps one time per queued
	// segment and merges queued segments keeping the newest time, so a
	// read that takes several reports at once times them all by the last
	// to arrive: never earlier than they arrived.
	at int64
	// drained: a read since the last rearm returned less than it could
	// take, so the socket was empty then; reads return errWouldBlock
	// until the next rearm (the next poll) instead of asking the kernel
	// again, a system call that would almost always find nothing.
	drained bool
}

// rearm lets the next read go to the socket.
func (f *fdReader) rearm() { f.drained = false }

func (f *fdReader) Read(p []byte) (int, error) {
	if f.drained {
		return 0, errWouldBlock
	}
	for {
		n, oobn, _, _, err := syscall.Recvmsg(f.fd, p, f.oob[:], syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return 0, errWouldBlock
		case err != nil:
			return 0, err
		case n == 0:
			return 0, io.EOF
		}
		f.drained = n < len(p)
		f.at = 0
		if hl := syscall.CmsgLen(0); oobn >= syscall.CmsgLen(int(unsafe.Sizeof(syscall.Timespec{}))) {
			h := (*syscall.Cmsghdr)(unsafe.Pointer(&f.oob[0]))
			if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SO_TIMESTAMPNS {
				f.at = (*syscall.Timespec)(unsafe.Pointer(&f.oob[hl])).Nano()
			}
		}
		return n, nil
	}
}

// writeFD writes b whole to a detached socket. While the socket's send
// buffer is full (the venue is not reading) it blocks in wait(fd), or, if
// wait is nil, in waitWritable; it gives up after 10 s without progress.
func writeFD(fd int, b []byte, wait func(fd int)) error {
	var stuck time.Time
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		if n > 0 {
			b = b[n:]
			stuck = time.Time{}
			continue
		}
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
		case nil:
			return io.ErrShortWrite
		default:
			return err
		}
		if stuck.IsZero() {
			stuck = time.Now()
		} else if time.Since(stuck) > 10*time.Second {
			return errWriteStuck
		}
		if wait != nil {
			wait(fd)
		} else {
			waitWritable(fd)
		}
	}
	return nil
}

// waitFDs blocks until one of fds is ready as its events ask (or has an
// error or hang-up), or 10 ms have passed. It goes through the Go
// scheduler's syscall bookkeeping: the wait may be long, and its P is
// wanted meanwhile.
func waitFDs(fds []pollFD) {
	if len(fds) == 0 {
		return
	}
	ts := syscall.NsecToTimespec(10_000_000)
	_, _, _ = syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)),
		uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
}

// waitWritable blocks until fd is writable, at most 10 ms.
func waitWritable(fd int) {
	fds := [1]pollFD{{fd: int32(fd), events: pollOut}}
	waitFDs(fds[:])
}

func closeFD(fd int) error { return syscall.Close(fd) }

//go:build !linux

package fixbench

// detach: only Linux is supported (receive timestamps, raw socket I/O);
// elsewhere every session keeps its reader goroutine.
func (c *Client) detach() error { return errNotDetachable }

// fdReader exists only on Linux.
type fdReader struct{ at int64 }

func (f *fdReader) Read([]byte) (int, error) { return 0, errNotDetachable }

func (f *fdReader) rearm() {}

func writeFD(int, []byte, func(int)) error { return errNotDetachable }

func waitFDs([]pollFD) {}

func closeFD(int) error { return nil }

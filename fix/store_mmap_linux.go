//go:build linux

package fix

import (
	"os"
	"syscall"
)

// mapFile reserves size bytes of f on disk (fallocate: a full disk is an
// error here, not a SIGBUS at the first store into a hole) and maps them
// shared: a store into the mapping is in the page cache at once, as a
// write(2) is.
func mapFile(f *os.File, size int64) ([]byte, error) {
	fd := int(f.Fd())
	if err := syscall.Fallocate(fd, 0, 0, size); err != nil {
		return nil, err
	}
	return syscall.Mmap(fd, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
}

func unmapFile(b []byte) error { return syscall.Munmap(b) }

package fix

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// storeBenchMsg is an ExecutionReport-sized message (~250 bytes).
var storeBenchMsg = bytes.Repeat([]byte("x"), 250)

// BenchmarkStoreAppend: one outbound message stored as execPump stores a
// lone report: queued, then committed (one record, one write(2)).
func BenchmarkStoreAppend(b *testing.B) {
	st, err := OpenStore(b.TempDir(), StoreOptions{CompactBytes: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ss, err := st.Session(testSID)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(storeBenchMsg)))
	for i := 0; b.Loop(); i++ {
		ss.queueMessage(ss.nextSender, storeBenchMsg)
		if err := ss.commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// mmapAppender is the design measured against write(2) and rejected (see
// "Why not a memory-mapped file" in store.go): records copied into a
// shared mapping of the file, which grows in chunks — preallocated
// (fallocate), sparse (ftruncate) or mapped with MAP_POPULATE.
type mmapAppender struct {
	f     *os.File
	mode  string
	chunk int64
	m     []byte // mapping of [base, base+chunk)
	base  int64
	size  int64
}

func (a *mmapAppender) append(rec []byte) error {
	for len(rec) > 0 {
		if a.m == nil || a.size >= a.base+a.chunk {
			if a.m != nil {
				if err := syscall.Munmap(a.m); err != nil {
					return err
				}
				a.base += a.chunk
			}
			if a.mode == "ftruncate" {
				if err := a.f.Truncate(a.base + a.chunk); err != nil {
					return err
				}
			} else if err := syscall.Fallocate(int(a.f.Fd()), 0, a.base, a.chunk); err != nil {
				return err
			}
			flags := syscall.MAP_SHARED
			if a.mode == "populate" {
				flags |= syscall.MAP_POPULATE
			}
			m, err := syscall.Mmap(int(a.f.Fd()), a.base, int(a.chunk), syscall.PROT_READ|syscall.PROT_WRITE, flags)
			if err != nil {
				return err
			}
			a.m = m
		}
		n := copy(a.m[a.size-a.base:], rec)
		a.size += int64(n)
		rec = rec[n:]
	}
	return nil
}

// BenchmarkStoreAppendMmap: the same record appended through mmapAppender.
func BenchmarkStoreAppendMmap(b *testing.B) {
	for _, mode := range []string{"fallocate", "ftruncate", "populate"} {
		chunk := int64(4 << 20)
		b.Run(mode, func(b *testing.B) {
			f, err := os.OpenFile(filepath.Join(b.TempDir(), "m"), os.O_RDWR|os.O_CREATE, 0o640)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			a := &mmapAppender{f: f, chunk: chunk, mode: mode}
			ss := &sessionStore{}
			b.ReportAllocs()
			b.SetBytes(int64(len(storeBenchMsg)))
			for i := 0; b.Loop(); i++ {
				var h [16]byte
				ss.appendRec('N', h[:], storeBenchMsg)
				if err := a.append(ss.rec); err != nil {
					b.Fatal(err)
				}
				ss.rec = ss.rec[:0]
			}
			if a.m != nil {
				syscall.Munmap(a.m)
			}
		})
	}
}

// BenchmarkMmapPageFault: the first write to a page of a fresh shared
// mapping of a preallocated file (what an mmap append pays every ~15
// messages).
func BenchmarkMmapPageFault(b *testing.B) {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "m"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	const chunk = 64 << 20
	var m []byte
	off := int64(0)
	pos := chunk
	for b.Loop() {
		if pos >= chunk {
			b.StopTimer()
			if m != nil {
				syscall.Munmap(m)
				off += chunk
			}
			if err := syscall.Fallocate(int(f.Fd()), 0, off, chunk); err != nil {
				b.Fatal(err)
			}
			if m, err = syscall.Mmap(int(f.Fd()), off, chunk, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED); err != nil {
				b.Fatal(err)
			}
			pos = 0
			b.StartTimer()
		}
		m[pos] = 1
		pos += 4096
	}
	syscall.Munmap(m)
}

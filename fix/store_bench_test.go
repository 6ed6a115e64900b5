package fix

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// storeBenchMsg is an ExecutionReport-sized message (~250 bytes).
var storeBenchMsg = bytes.Repeat([]byte("x"), 250)

// BenchmarkStoreAppend: one outbound message stored as execPump stores a
// lone report: queued, then committed (one record, one write(2)).
func BenchmarkStoreAppend(b *testing.B) {
	st, err := OpenStore(b.TempDir(), StoreOptions{SegmentBytes: 1 << 40})
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

// BenchmarkStoreCompactStall: what a session's commits cost while the
// store reclaims the space of forgotten messages, the exec pump's view of
// it. One op is one report queued and committed, as BenchmarkStoreAppend;
// run it with -benchtime=500000x so that, at the defaults (200,000 kept
// messages, 64 MiB), the store starts new segments and retires old ones
// (~130 MB written): the case that stalled a session for ~250 ms when the
// single file was compacted, the kept messages copied on the pump's
// goroutine (before segments, the same benchmark: one compaction). commit-max-µs is the longest commit,
// slow-commits the commits over 1 ms (the machine's own noise included).
func BenchmarkStoreCompactStall(b *testing.B) {
	st, err := OpenStore(b.TempDir(), StoreOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ss, err := st.Session(testSID)
	if err != nil {
		b.Fatal(err)
	}
	var longest, rollLongest time.Duration
	slow, rolls, retires := 0, 0, 0
	for b.Loop() {
		segs, cur := len(ss.segs), ss.cur()
		t0 := time.Now()
		ss.queueMessage(ss.NextSenderMsgSeqNum(), storeBenchMsg)
		if err := ss.commit(); err != nil {
			b.Fatal(err)
		}
		d := time.Since(t0)
		longest = max(longest, d)
		if d > time.Millisecond {
			slow++
		}
		if ss.cur() != cur || len(ss.segs) != segs {
			rollLongest = max(rollLongest, d)
			if ss.cur() != cur {
				rolls++
			}
			if len(ss.segs) < segs+1 && ss.cur() != cur || len(ss.segs) < segs {
				retires++
			}
		}
	}
	b.ReportMetric(float64(longest.Microseconds()), "commit-max-µs")
	b.ReportMetric(float64(slow), "slow-commits")
	// The commits that started a segment or retired one (not in the
	// single-file version this was first measured on).
	b.ReportMetric(float64(rollLongest.Microseconds()), "roll-commit-max-µs")
	b.ReportMetric(float64(rolls), "rolls")
	b.ReportMetric(float64(retires), "retiring-commits")
}

package journal

import (
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// walGeneration counts Pebble's WAL files as they are created (its
// EventListener's WALCreated). Pebble makes a new WAL when it rotates the
// memtable, after closing the previous one — which writes the previous
// WAL's buffered tail and syncs it, whatever the durability of the
// commits in it (record.LogWriter.Close, Pebble v2.1.7). So once the
// count has moved past the value it had after a record was appended,
// that record is durable.
//
// IngestSnapshot uses this under DurabilityNone: a snapshot may be stored
// only once the records it follows are durable, and syncing the WAL for
// it (a commit with Sync) is one more fsync on the disk the commits write
// to; with one processor Pebble's WAL flusher also held the processor
// through it — runtime traces of bench fix at 10,000 orders/s showed
// every goroutine of the venue waiting 5.9 and 16.8 ms behind it (since
// then IngestSnapshot gives it a spare processor). A caller that can wait
// for the next rotation (WALRotated) spares the venue that sync; the
// rotation's own is paid anyway.
type walGeneration struct {
	mu      sync.Mutex
	n       uint64
	last    uint64        // the newest WAL's file number
	rotated chan struct{} // closed, and replaced, at each new WAL
}

func newWALGeneration() *walGeneration {
	return &walGeneration{rotated: make(chan struct{})}
}

// listen makes po report new WALs to g.
func (g *walGeneration) listen(po *pebble.Options) {
	// Only a WAL numbered above every one before counts: Pebble's WAL
	// failover (not configured here) reports the same number again when
	// it switches directories, without syncing the one it leaves.
	el := pebble.EventListener{WALCreated: func(info pebble.WALCreateInfo) {
		if info.Err == nil {
			g.bump(uint64(info.FileNum))
		}
	}}
	if po.EventListener != nil {
		el = pebble.TeeEventListener(*po.EventListener, el)
	}
	po.EventListener = &el
}

func (g *walGeneration) bump(fileNum uint64) {
	g.mu.Lock()
	if fileNum <= g.last {
		g.mu.Unlock()
		return
	}
	g.last = fileNum
	g.n++
	close(g.rotated)
	g.rotated = make(chan struct{})
	g.mu.Unlock()
}

// now is the count of WALs created so far.
func (g *walGeneration) now() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// after returns a channel closed once a WAL has been created after the
// count was mark (at once if one has).
func (g *walGeneration) after(mark uint64) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n > mark {
		return closedChan
	}
	return g.rotated
}

var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// WALMark is the count of WAL files Pebble has made so far: a value to
// give WALRotated and IngestSnapshot, taken after the records a snapshot
// follows were appended.
func (a *Appender) WALMark() uint64 { return a.j.walGen.now() }

// WALRotated returns a channel closed once Pebble has made a new WAL
// since mark (WALMark) — and so synced every record appended before
// mark was taken (see walGeneration).
func (a *Appender) WALRotated(mark uint64) <-chan struct{} { return a.j.walGen.after(mark) }

// SnapshotSyncsWAL says whether storing a snapshot syncs the WAL unless it
// has rotated since the mark (DurabilityNone; under DurabilitySync the
// records are synced by their own commits): whether waiting for
// WALRotated before IngestSnapshot spares the venue a sync.
func (a *Appender) SnapshotSyncsWAL() bool { return a.j.opts.Durability == DurabilityNone }

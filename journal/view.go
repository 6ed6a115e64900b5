package journal

import "sync"

// SnapshotReader returns a reader over a consistent point-in-time view of
// the live journal (a Pebble snapshot): every key it reads is as it was
// when SnapshotReader was called, however long the reader lives and
// whatever the writer commits, prunes or compacts meanwhile. It is how
// the regulator's tools read a running venue's journal without copying it
// and without taking the writer's lock: taking the view is a few
// microseconds under Pebble's own mutex, and reading it never blocks the
// writer.
//
// The view holds whatever Pebble had applied when it was taken: every
// durable group commit, and possibly the group whose sync is still in
// flight (Pebble makes a batch visible before its WAL sync completes).
// Callers that must show only durable records wait until each shard's
// Appender.Durable has reached the view's head (cmd/fxmatch/venue does).
//
// The reader must be closed, and soon: Close of the journal waits for
// every open view, and a view pins the sstables it can see against
// compaction's deletion. It returns ErrClosed once the journal is
// closing.
func (j *Journal) SnapshotReader() (*Reader, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closing {
		return nil, ErrClosed
	}
	snap := j.db.NewSnapshot()
	j.views++
	var once sync.Once
	return &Reader{db: snap, close: func() error {
		var err error
		once.Do(func() {
			err = snap.Close()
			j.mu.Lock()
			j.views--
			j.viewClosed.Broadcast()
			j.mu.Unlock()
		})
		return err
	}}, nil
}

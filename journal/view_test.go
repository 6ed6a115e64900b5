package journal

import (
	"errors"
	"testing"
	"time"
)

// TestSnapshotReader: a view keeps showing the journal as it was when it
// was taken — records, head and snapshots — while the writer appends and
// prunes; the journal's Close waits for the view to be closed.
func TestSnapshotReader(t *testing.T) {
	r := testRand(t)
	j, err := Open(t.TempDir(), Options{Logger: quietLogger(t), KeepSnapshots: 1})
	if err != nil {
		t.Fatal(err)
	}
	ak := &acks{t: t}
	a, err := j.Appender(0, ak.fn)
	if err != nil {
		t.Fatal(err)
	}
	var w []want
	cmds, evs, ends := randBatch(r, 1, 20)
	w = collect(w, cmds, evs, ends)
	if err := a.Append(cmds, evs, ends); err != nil {
		t.Fatal(err)
	}
	if err := a.PutSnapshot(20, Hash{1}, []byte("state at 20")); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, func() error {
		if ak.durable() < 20 {
			return errors.New("not durable yet")
		}
		return nil
	})
	// The snapshot's segment is acknowledged with the records after it:
	// append one more batch and wait, so the snapshot is committed.
	cmds, evs, ends = randBatch(r, 21, 5)
	w = collect(w, cmds, evs, ends)
	if err := a.Append(cmds, evs, ends); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, func() error {
		if ak.durable() < 25 {
			return errors.New("not durable yet")
		}
		return nil
	})

	view, err := j.SnapshotReader()
	if err != nil {
		t.Fatal(err)
	}
	// The writer goes on: more records, and a snapshot that prunes the one
	// the view saw.
	cmds, evs, ends = randBatch(r, 26, 30)
	if err := a.Append(cmds, evs, ends); err != nil {
		t.Fatal(err)
	}
	if err := a.PutSnapshot(55, Hash{2}, []byte("state at 55")); err != nil {
		t.Fatal(err)
	}
	cmds, evs, ends = randBatch(r, 56, 1)
	if err := a.Append(cmds, evs, ends); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, func() error {
		if ak.durable() < 56 {
			return errors.New("not durable yet")
		}
		if s, err := j.Reader().Snapshots(0); err != nil || len(s) != 1 || s[0] != 55 {
			return errors.New("live journal not pruned to the snapshot at 55 yet")
		}
		return nil
	})

	if h, err := view.Head(0); err != nil || h.Seq != 25 {
		t.Fatalf("view head %v %v, want seq 25", h, err)
	}
	checkRecords(t, view, 0, 1, w)
	if s, err := view.Snapshots(0); err != nil || len(s) != 1 || s[0] != 20 {
		t.Fatalf("view snapshots %v %v, want [20]", s, err)
	}
	if s, err := view.LatestSnapshot(0); err != nil || string(s.Data) != "state at 20" {
		t.Fatalf("view snapshot %q %v", s.Data, err)
	}
	if h, err := view.Verify(0, nil); err != nil || h.Seq != 25 {
		t.Fatalf("view verify %v %v", h, err)
	}
	if h, _ := j.Reader().Head(0); h.Seq != 56 {
		t.Fatalf("live head %v", h)
	}

	closed := make(chan error, 1)
	go func() { closed <- j.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("journal closed (%v) with a view open", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := j.SnapshotReader(); !errors.Is(err, ErrClosed) {
		t.Fatalf("a view of a closing journal: %v", err)
	}
	// The view still reads while the journal waits for it.
	checkRecords(t, view, 0, 1, w)
	if err := view.Close(); err != nil {
		t.Fatal(err)
	}
	if err := view.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("journal Close still waiting after the view closed")
	}
}

// TestCommitTimes: one observation per durable group commit.
func TestCommitTimes(t *testing.T) {
	r := testRand(t)
	j, err := Open(t.TempDir(), Options{Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	a, err := j.Appender(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := a.Append(randBatch(r, a.Next(), 3)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	st := j.Stats()
	s := j.CommitTimes().Snapshot()
	if st.Commits == 0 || s.Count() != st.Commits || s.Sum <= 0 {
		t.Fatalf("%d commits, %d commit times summing to %d ns", st.Commits, s.Count(), s.Sum)
	}
}

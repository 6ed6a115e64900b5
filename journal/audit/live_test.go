package audit_test

import (
	"context"
	"errors"
	"testing"

	"fxmatch/journal"
	"fxmatch/journal/audit"
)

// TestFromReader: an audit over a Reader the caller opened answers as
// audit.Open does, and Close closes the reader.
func TestFromReader(t *testing.T) {
	res := scenario(t)
	r, err := journal.OpenReader(res.JournalDir, journal.ReaderOptions{Options: journal.Options{Logger: quiet()}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := audit.FromReader(r, audit.Options{Logger: quiet()})
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	rep, err := j.Verify()
	if cerr := j.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil || rep.Err() != nil || !rep.Complete() {
		t.Fatalf("verify: %v %v", err, rep.Err())
	}
	// Closing the audit closed the reader: it released Pebble's lock, so
	// the directory opens again; a second Close is harmless.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	ref := open(t, res.JournalDir)
	refRep, _ := ref.Verify()
	for i := range rep.Shards {
		if rep.Shards[i].Head != refRep.Shards[i].Head || rep.Shards[i].Records != refRep.Shards[i].Records {
			t.Fatalf("shard %d: head %v, Open's %v", i, rep.Shards[i].Head, refRep.Shards[i].Head)
		}
	}
}

// TestContextStops: every long query on a done context stops with
// ErrStopped and the context's error; Verify returns every shard marked
// Stopped.
func TestContextStops(t *testing.T) {
	res := scenario(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	j, err := audit.Open(res.JournalDir, audit.Options{Logger: quiet(), Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	stopped := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, audit.ErrStopped) || !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want ErrStopped wrapping context.Canceled", what, err)
		}
	}
	rep, err := j.Verify()
	stopped("Verify", err)
	if rep == nil || len(rep.Shards) != j.Shards() || rep.Complete() || rep.Err() != nil {
		t.Fatalf("partial report %+v", rep)
	}
	for _, s := range rep.Shards {
		if !s.Stopped || s.Records > 1 {
			t.Errorf("shard %d: stopped %v after %d records", s.Shard, s.Stopped, s.Records)
		}
	}
	stopped("Trades", j.Trades(audit.TradeFilter{}, func(*audit.Trade) error { return nil }))
	_, err = j.BookAtSeq("USD/CNY", res.Steps[len(res.Steps)-1].Heads[0])
	stopped("BookAtSeq", err)
	_, err = j.OrdersByClOrdID("BANKA", "A1")
	stopped("OrdersByClOrdID", err)
}

package audit_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/engine"
	"fxmatch/journal"
	"fxmatch/journal/audit"
	"fxmatch/journal/audit/audittest"
)

// openVenue recovers a venue from the journal directory jdir (moved into
// a data directory of its own).
func openVenue(t *testing.T, jdir string) (*venue.Venue, error) {
	t.Helper()
	data := t.TempDir()
	if err := os.Rename(jdir, filepath.Join(data, "journal")); err != nil {
		t.Fatal(err)
	}
	start := audittest.Start.UnixNano()
	return venue.Open(venue.Options{Config: audittest.Config(), DataDir: data, Logger: quiet(), Clock: func() int64 { return start }})
}

// TestVenueRefusesWhatAuditRefuses: the venue's recovery is the audit's
// replay (audit.Rebuild), so a journal whose recorded events the engine
// does not reproduce stops the venue at start with the audit's finding —
// shard, sequence and field — and an intact one starts.
func TestVenueRefusesWhatAuditRefuses(t *testing.T) {
	v, err := openVenue(t, writeJournal(t, nil, nil))
	if err != nil {
		t.Fatalf("the undoctored journal: %v", err)
	}
	if _, last := v.Recovered(0); last != 8 {
		t.Errorf("recovered to seq %d, want 8", last)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := v.Run(ctx); err != nil {
		t.Fatal(err)
	}

	bad := writeJournal(t, func(seq uint64, evs []engine.Event) {
		if seq == 4 {
			for i := range evs {
				if evs[i].Kind == engine.EvFill && evs[i].Aggressor {
					evs[i].LastPx += 100
				}
			}
		}
	}, nil)
	_, err = openVenue(t, bad)
	if !errors.Is(err, venue.ErrReplayMismatch) || !errors.Is(err, audit.ErrReplayMismatch) {
		t.Fatalf("venue.Open on a doctored journal: %v", err)
	}
	if shard, seq, ok := journal.BadSeq(err); !ok || shard != 0 || seq != 4 || !strings.Contains(err.Error(), "LastPx") {
		t.Fatalf("venue.Open named shard %d seq %d: %v", shard, seq, err)
	}
}

package audit

import (
	"fxmatch/journal"
)

// cursor is one shard's place in a walk.
type cursor struct {
	it  *journal.Iter
	rec *journal.Record
}

// walk visits the records of shards in time order — by (Time, shard,
// sequence), a total order because each shard's times never go backwards
// — starting at from[i] in shards[i], and stopping in a shard at its first
// record stamped at or after until (0: no bound). fn sees each record
// while it is valid (its Events alias the shard iterator's buffer); an
// error from fn stops the walk. Each shard's chain is checked as it is
// read.
func (j *Journal) walk(shards []uint16, from []uint64, until int64, p *progress, fn func(*journal.Record) error) error {
	cs := make([]*cursor, 0, len(shards))
	defer func() {
		for _, c := range cs {
			c.it.Close()
		}
	}()
	next := func(c *cursor) (bool, error) {
		if !c.it.Next() {
			return false, c.it.Err()
		}
		c.rec = c.it.Record()
		return until == 0 || c.rec.Command.Time < until, nil
	}
	live := make([]*cursor, 0, len(shards))
	for i, s := range shards {
		c := &cursor{it: j.r.Records(s, from[i])}
		cs = append(cs, c)
		ok, err := next(c)
		if err != nil {
			return err
		}
		if ok {
			live = append(live, c)
		}
	}
	// A linear scan for the earliest: there are a handful of shards.
	for len(live) > 0 {
		bi := 0
		for i := 1; i < len(live); i++ {
			a, b := live[i].rec, live[bi].rec
			if a.Command.Time < b.Command.Time || a.Command.Time == b.Command.Time && a.Shard < b.Shard {
				bi = i
			}
		}
		c := live[bi]
		if err := fn(c.rec); err != nil {
			return err
		}
		if err := p.step(); err != nil {
			return err
		}
		ok, err := next(c)
		if err != nil {
			return err
		}
		if !ok {
			live = append(live[:bi], live[bi+1:]...)
		}
	}
	p.end()
	return nil
}

// allShards lists every shard with from = 1, and the records they hold.
func (j *Journal) allShards() (shards []uint16, from []uint64, total uint64) {
	for si := range j.shards {
		shards = append(shards, uint16(si))
		from = append(from, 1)
		total += j.shards[si].head.Seq
	}
	return shards, from, total
}

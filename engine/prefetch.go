package engine

import "unsafe"

// Prefetch starts loading the ClOrdID index entries cmd will look up, so
// that when Apply reaches cmd they are in cache. The index of a busy day is
// far larger than the CPU caches and its entries are spread by hashing, so
// each lookup is otherwise a main-memory round trip; issuing the loads a
// few commands ahead overlaps those round trips with matching. The shard
// calls it for the command a few places ahead in its batch. It changes no
// state and may be skipped.
func (e *Engine) Prefetch(cmd *Command) {
	if cmd.Kind != CmdNewOrder && cmd.Kind != CmdCancel && cmd.Kind != CmdReplace {
		return
	}
	e.prefetchID(cmd.Party, &cmd.ClOrdID)
	if cmd.Kind != CmdNewOrder {
		e.prefetchID(cmd.Party, &cmd.OrigClOrdID)
	}
}

func (e *Engine) prefetchID(p PartyID, id *ID) {
	i := e.ids.home(fingerprint(p, id))
	prefetch(uintptr(unsafe.Pointer(&e.ids.ents[i])))
}

// PrefetchAhead is how many commands ahead of Apply the shard prefetches:
// measured with BenchmarkApply (engine/enginebench), 8 and 16 were alike
// and both well ahead of none.
const PrefetchAhead = 8

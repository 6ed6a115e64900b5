// Package journal is the venue's durable record: the sequenced commands
// each shard's engine applied and the events it produced from them,
// chained by SHA-256 hashes so that a regulator can prove the record was
// not altered, plus periodic engine snapshots, stored in Pebble with group
// commit (one sync per batch of batches, not per order). It exists for two
// promises: an acknowledgement leaves only after its events are durable,
// and recovery (snapshot, then replay of the commands after it) reproduces
// the journaled events byte for byte; replay is also how regulators see
// the book at any moment and any order's whole life.
//
// # Shape
//
//	shard goroutine                writer goroutine              acker goroutine
//	───────────────                ────────────────              ───────────────
//	engine.Apply(batch)            take what is queued           wait for the group's WAL sync
//	Appender.Append(cmds,          (≤ 4 MiB, ≤ 65536 records)    (in commit order)
//	  events, ends)                one Pebble batch: one block   onDurable(first, last, nil)
//	  encode + chain records  ──>  per shard                ──>  per Append, in order
//	  enqueue (blocks when full)   ApplyNoSyncWait(pebble.Sync)  prune old snapshots
//
// The shard encodes and hashes its own records (its chain is its own), so
// the writer only concatenates and commits. The writer hands each group to
// Pebble without waiting for its sync and builds the next one meanwhile
// (at most three groups in flight); Pebble's WAL writer folds the syncs
// requested in the meantime into one. Because one goroutine applies, the
// WAL holds the groups in the order they were taken and a sync covers
// every group before it: a record is never durable while an earlier one
// is not. onDurable is the moment acknowledgements (ExecutionReports) may
// leave.
//
// Back-pressure: the queue is bounded (Options.MaxQueueBytes,
// MaxQueueBatches). A full queue blocks Append, which stops the shard
// goroutine, which lets its input ring fill, which turns into "busy"
// rejects at the gateways — memory stays bounded and latency shows up as
// rejects, not as an unbounded queue.
//
// Failure: if a write or sync fails (disk full, I/O error) — of a group
// commit, a metadata write, a snapshot's table or its ingestion, a
// snapshot prune or a checkpoint's WAL flush —
// the journal becomes unavailable for good. The batches in flight and
// queued get onDurable(…, err) with err wrapping ErrUnavailable ("journal:
// unavailable: <cause>"), Append and PutSnapshot return it from then on,
// Err reports it, and the writer never writes again: after a failed WAL
// write the file's tail is unknown, and continuing would acknowledge
// orders whose predecessors may be lost. Records of the failed group may
// or may not be found after a restart; they were never acknowledged, and
// recovery replays whatever is there (always a prefix of what was
// appended: the WAL is written in order). Pebble reports such a failure by
// calling its logger's Fatalf; the journal turns that into the sticky
// error wherever the journal made the write, and into a crash anywhere
// else (a background flush or compaction that cannot write).
//
// Durability: DurabilitySync (the default) syncs every group commit.
// DurabilityNone writes without sync — a crash of the process or the
// machine can lose acknowledged records (Pebble holds an unsynced record
// in its WAL block in memory until the block fills) — and exists for
// benchmarks; Open logs it at error level. With
// nothing to wait for, there is nothing to group either: each Append
// commits its own block as one Pebble batch on the shard's goroutine
// and calls onDurable before it returns, without the
// writer and acker and the goroutine wake-ups between them. A shard's
// blocks still reach the WAL in its sequence order, so the journal is the
// same, key for key, as the writer would have made of single-batch groups.
//
// # Keys
//
// Every key starts with one byte naming its kind; the fields after it are
// fixed-width big-endian, so Pebble's bytewise order is the logical order.
//
//	'J' shard:u16 firstSeq:u64        block of consecutive records of a shard (11 bytes)
//	'S' shard:u16 seq:u64             snapshot of a shard's engine after seq (11 bytes)
//	'M' name…                         metadata, name 1..255 bytes (see below)
//	'V'                               format marker "fxmatch-journal\x00\x01"
//
// Metadata names are slash-separated, the first element a namespace owned
// by one part of the venue: MetaConfig ("config", the configuration the
// journal was written under) and MetaGenesisTradeDate ("shard/N/genesis-
// trade-date", each shard's first trade date), both written by the venue;
// "fix/<session>/…" is reserved (FIX sessions keep their own store today).
// Metadata is written synced outside the group commit (SetMeta).
//
// One block holds the records of one shard from one group commit, split
// at Options.MaxBlockBytes (1 MiB). A key per record was measured against
// a key per block (BenchmarkPebbleLayout, figures in its comment): with
// small groups the sync dominates and both write alike; with the groups
// that form under load a key per block writes about 1.4× faster, and it
// scans (replays) about 3× faster — per-key costs (skiplist nodes, index
// entries, iterator steps) are paid once per group. A block keeps every
// record's own hash link, so nothing is lost in precision.
//
// # Block value
//
//	┌─────────┬──────────────┬───────────────┬───────────┬─────┬───────────┬───────────────┐
//	│ version │ count        │ prev hash     │ record 1  │ ... │ record n  │ head hash     │
//	│ u8 = 1  │ uvarint (=n) │ 32 B          │           │     │           │ 32 B          │
//	└─────────┴──────────────┴───────────────┴───────────┴─────┴───────────┴───────────────┘
//	record:
//	┌──────────────────┬──────────────────────┬──────────────────────────────┐
//	│ payload length   │ check                │ payload                      │
//	│ uvarint          │ 8 B: first 8 bytes   │ (below)                      │
//	│                  │ of the record's hash │                              │
//	└──────────────────┴──────────────────────┴──────────────────────────────┘
//
// prev hash is the chain hash before the block's first record (the
// previous block's head hash), head hash the chain hash after its last, so
// the chain's head is read from the last block without a walk (Head), and
// a walk can start at any block (Records from a sequence).
//
// # Hash chain
//
// Each shard has its own chain. The hash of record seq is
//
//	h(seq) = SHA-256( h(seq-1) ‖ key(shard, seq) ‖ payload )
//	h(0)   = 32 zero bytes (GenesisHash)
//	key(shard, seq) = 'J' ‖ shard u16 BE ‖ seq u64 BE   (the block-key layout)
//
// so a record's hash covers everything before it, its own position, and
// its bytes. Verify recomputes the chain from genesis and compares each
// record's stored check bytes and each block's prev and head hashes; the
// first disagreement is reported as a *SeqError naming the shard and
// sequence, wrapping ErrHashMismatch (a changed byte), ErrMissing (a
// deleted record or block), ErrReordered (moved or swapped records) or
// ErrCorrupt (undecodable). A journal truncated after its last record is
// self-consistent: compare Verify's head with a head recorded elsewhere.
//
// # Record payload
//
// All integers are varints (uvarint, or zig-zag for signed values) unless
// said otherwise; a field whose presence bit is clear is zero (false, the
// empty identifier) and takes no bytes.
//
//	payload := version u8 (=1) ‖ command ‖ nEvents uvarint ‖ event × nEvents
//	command := Seq uvarint ‖ Time i64 LE (8 B) ‖ Kind u8 ‖ mask uvarint ‖ fields
//	event   := Kind u8 ‖ mask uvarint ‖ fields
//	ID      := len u8 (1..47) ‖ bytes
//	event ID:= ID, or one byte 0x80|k: the command's ClOrdID (k=0),
//	           OrigClOrdID (1) or Account (2)
//
// Command mask bits, in field order: 0 Party, 1 Instrument, 2 Side (u8),
// 3 OrdType (u8), 4 TIF (u8), 5 PostOnly (no bytes), 6 Scope (u8),
// 7 Reason (u8), 8 Price, 9 Qty, 10 MinQty, 11 MaxFloor, 12 ExpireTime,
// 13 Directed, 14 ClOrdID, 15 OrigClOrdID, 16 Account, 17 Counterparty,
// 18 CreditLimit, 19 TradeDate.
//
// Event mask bits, in field order: 0 Seq (delta from the command's),
// 1 Time (delta from the command's), 2 ExecID (delta from the previous
// event's, 0 before the first), 3 Party, 4 Instrument, 5 OrderID (delta
// from the previous event's), 6 Side (u8), 7 OrdType (u8), 8 TIF (u8),
// 9 Reason (u8), 10 Price, 11 OrderQty, 12 LeavesQty, 13 CumQty,
// 14 AvgPx, 15 Displayed, 16 ExpireTime, 17 ClOrdID, 18 OrigClOrdID,
// 19 Account, 20 LastQty, 21 LastPx, 22 Counterparty, 23 TradeID (delta
// from the previous event's), 24 Aggressor (no bytes), 25 TradeDate,
// 26 SettlDate, 27 RespondingTo (u8), 28 Action (u8), 29 Count,
// 30 CreditLimit. A delta field is present iff the delta is not zero.
//
// Deltas and references stay inside one record, so every record decodes
// on its own. Encoding is exact: every field of engine.Command and
// engine.Event round-trips (randomized tests, maximum-length identifiers,
// extreme values), and AppendRecord/DecodeRecord allocate nothing.
// testdata/record.hex pins the bytes of one record: changing the format
// means a new RecordVersion, and readers keep the old decoders.
//
// # Snapshot value
//
//	version u8 (=1) ‖ state hash 32 B ‖ CRC-32C(data) u32 LE ‖ data
//
// The state hash is the engine's canonical hash of its state (recovery
// restores data and checks it); the CRC catches a damaged value before
// that. A snapshot does not go through the WAL: PutSnapshot writes its
// key and value as a one-key sstable and ingests it into Pebble, so that
// a multi-megabyte write does not hold the shard's commits behind it in
// Pebble's commit pipeline (snapingest.go: what Pebble does, and the
// figures). It does so only once the records it follows are durable
// (DurabilitySync: it waits for a barrier queued behind them through the
// writer; DurabilityNone: it syncs the WAL, which holds them), so a
// snapshot is never durable before them; it is durable when PutSnapshot
// returns, and the newest Options.KeepSnapshots per shard are kept.
// PutSnapshot may be called from another goroutine than Append (the
// venue encodes snapshots off the shard's).
// The journal itself is never pruned.
package journal

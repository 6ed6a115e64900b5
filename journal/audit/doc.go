// Package audit is the regulator's view of a journal: it opens a journal
// directory (or a checkpoint of one) read-only and answers, from the
// journal alone, what the book of a pair looked like at a moment, what
// happened to an order over its whole life, which trades were made, and
// whether the record is intact.
//
// # From the journal alone
//
// A regulator should not need the venue's configuration file, nor trust
// that the one they were handed is the one the venue ran with. The venue
// stores what replay depends on inside the journal (cmd/fxmatch/venue):
//
//	metadata "config"                       canonical JSON []engine.Config, one per
//	                                        shard, TradeDate zeroed
//	metadata "shard/N/genesis-trade-date"   shard N's first trade date, decimal YYYYMMDD
//
// Open rebuilds every shard's engine configuration from these two, so an
// engine built here is the engine the venue built, and replaying the
// journal's commands into it must reproduce the journal's events exactly.
// Instruments in the journal carry each shard engine's own numbering (an
// index into that shard's Instruments); participants are numbered the
// same in every shard.
//
// # What each question costs
//
//   - Book (BookAtSeq, BookAtTime): the newest snapshot at or before the
//     moment, its state hash checked, then the records after it replayed
//     through the engine and compared with the journaled events, so a
//     book is never shown from a journal that does not replay.
//   - Order lives (OrderByID, OrdersByClOrdID) and trades: a scan of the
//     records, reading the journaled events; no engine runs.
//   - Verify: everything, from genesis: the hash chain of every shard, every
//     command re-executed and its events re-encoded and compared byte for
//     byte with the journaled record, every stored snapshot compared with
//     the state the replay reached, and time never going backwards. It
//     deliberately ignores snapshots as starting points: a snapshot is
//     something to check, not something to trust.
//
// Queries that start in the middle of a shard (a book from a snapshot,
// trades from a time) trust the hash a block states for the record before
// it; Verify is what proves those hashes from genesis.
//
// One replay: Rebuild (the newest snapshot, hash-checked, then every
// later record re-executed and compared) is also the venue's recovery
// (cmd/fxmatch/venue), so the venue starts on exactly the journals an
// audit accepts, and reports a difference as an audit would.
//
// A running venue's journal is audited through FromReader over a
// consistent view of it (journal.Journal.SnapshotReader); Options.Context
// bounds the long walks (the gateway's regulator API uses both).
//
// Errors about one record are *journal.SeqError values, whatever found
// them (the chain, the replay or a snapshot), so journal.BadSeq names the
// shard and sequence of the first break.
package audit

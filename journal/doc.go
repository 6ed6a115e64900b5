// Package journal is the venue's durable record: the sequenced commands
// each shard's engine applied and the events they produced, chained by
// SHA-256 hashes so that a regulator can prove the record was not altered,
// plus periodic snapshots, stored in Pebble under the configured data
// directory with group commit (one sync per batch, not per order). It
// exists for two promises: an acknowledgement leaves only after its events
// are durable, and recovery (snapshot, then replay of the commands after
// it) reproduces the journaled events byte for byte; replay is also how
// regulators see the book at any moment and any order's whole life. Being
// built: `fxmatch serve` does not write a journal yet, so nothing survives
// a restart, and its banner says so.
package journal

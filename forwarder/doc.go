// Package forwarder drains the transactional outbox into Kafka.
//
// The outbox is a set of watermill-sql tables (one per shard, named
// watermill_<topic>, with offsets in watermill_offsets_<topic>), written by
// the outbox publisher inside the caller's transaction. Each row holds a
// message wrapped in the envelope of Watermill's components/forwarder, which
// names the Kafka topic the message is meant for. A Forwarder reads committed
// rows, unwraps them and publishes them to Kafka, then records how far it got
// in the offsets table, in the very row format watermill-sql's own subscriber
// writes, so the two modes (and the stock Watermill forwarder) can take over
// from each other.
//
// # Modes
//
// ModeBatch (the default) works one shard at a time in one database
// transaction: it locks the shard's offsets row for its consumer group with
// SELECT ... FOR UPDATE SKIP LOCKED, reads up to BatchSize rows after the
// acknowledged position, sends them to Kafka in one SendMessages call and
// moves the position forward before committing. Several instances may run
// against the same database: each takes the shards no one else holds, so a
// shard is drained by one instance at a time (per-key order is kept) and
// throughput grows with instances up to the number of shards.
//
// ModeComponent is the plain composition: Watermill's components/forwarder
// over a watermill-sql subscriber and a watermill-kafka publisher, one per
// shard. It has none of the batch mode's dead-letter handling, counters or
// wake-ups, and publishes one message per database transaction.
//
// # Guarantees
//
// Every committed row is published at least once. A row is acknowledged only
// after Kafka confirmed it, or after it was written to the dead-letter table.
// Duplicates happen when a forwarder dies between Kafka's confirmation and
// its commit, or when another instance retries a batch that was partly sent.
// Rows of a shard are published in commit order (PostgreSQL: by transaction
// id, as watermill-sql orders them; MySQL: by auto-increment offset).
//
// On PostgreSQL only rows of transactions older than every open transaction
// are read (watermill-sql's rule), so a long transaction anywhere on the
// server holds the outbox back; the blocked_by_open_transaction gauge and a
// log line say so. docs/forwarder.md has the details, measured latencies and
// known limits.
//
// # Wake-ups
//
// An idle forwarder polls every PollInterval with one cheap query per shard.
// Publishers in the same process call Wake after their transaction commits.
// A Forwarder implements publisher.Notifier, so it can be given to
// publisher.OutboxConfig.Notifier directly. On PostgreSQL the forwarder also
// LISTENs on the channel returned by NotifyChannel, which is
// publisher.NotifyChannel ("watermill_notify_" followed by the base topic,
// e.g. "watermill_notify_outbox"); the outbox publisher calls
// pg_notify(channel, shard topic) inside its transaction, so the
// notification arrives when it commits and wakes that shard.
//
// # Dead letters
//
// A row that can never be published (its envelope does not decode, its topic
// is not a valid Kafka topic name, Kafka refuses it as too large or invalid)
// is written to the table watermill_outbox_dead_letters (created by
// publisher.Migrate) with the reason, and
// optionally to DeadLetterTopic, and the forwarder goes on with the next row.
package forwarder

import "github.com/watermill-outbox/watermill-outbox/publisher"

// NotifyChannel returns the PostgreSQL LISTEN/NOTIFY channel of the outbox
// with the given base topic. It is publisher.NotifyChannel, repeated here so
// the forwarder's contract is in one place: publishers notify it with the
// shard's SQL topic as payload.
func NotifyChannel(topic string) string { return publisher.NotifyChannel(topic) }

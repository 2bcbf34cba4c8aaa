package forwarder

import (
	"context"
	"database/sql"
	"time"

	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// ShardStatus describes how far a consumer group is behind on one shard.
type ShardStatus struct {
	// Topic is the shard's SQL topic.
	Topic string
	// Backlog counts rows after the group's acknowledged position, including
	// rows not yet visible because an older transaction is still open.
	Backlog int64
	// OldestPending is the age of the first row in Backlog, in reading order
	// (0 when empty).
	OldestPending time.Duration
	// DeadLetters counts this shard's rows in DeadLetterTable.
	DeadLetters int64
	// BlockedByOpenTx is true (PostgreSQL only) when rows are pending but
	// none can be read yet, because a transaction older than all of them is
	// still open: watermill-sql's visibility rule holds them back until it
	// ends.
	BlockedByOpenTx bool
}

// Status measures every shard of the outbox with base topic and shard count
// for the consumer group. It reads the outbox, offsets and dead-letter
// tables, which must exist. Counting the backlog scans the pending part of
// the primary key, so its cost grows with the backlog, not the table.
func Status(ctx context.Context, db *sql.DB, dialectName, topic string, shards int,
	group string) ([]ShardStatus, error) {
	d, err := newDialect(dialectName)
	if err != nil {
		return nil, err
	}
	return shardStatuses(ctx, db, d, publisher.ShardTopics(topic, shards), group)
}

func shardStatuses(ctx context.Context, q querier, d dialect, topics []string,
	group string) ([]ShardStatus, error) {
	out := make([]ShardStatus, 0, len(topics))
	for _, t := range topics {
		st, err := d.status(ctx, q, t, group)
		if err != nil {
			return nil, err
		}
		if st.DeadLetters, err = countDeadLetters(ctx, q, d, t); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

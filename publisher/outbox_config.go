package publisher

import (
	"errors"
	"fmt"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/internal/sqldialect"
)

// DefaultOutboxTopic is the SQL topic the outbox writes to when
// OutboxConfig.ForwarderTopic is empty; its messages table is
// watermill_outbox.
const DefaultOutboxTopic = "outbox"

// OutboxConfig configures an Outbox.
type OutboxConfig struct {
	// Dialect is the database family: "postgres" or "mysql" (MySQL and
	// MariaDB). Default: postgres.
	Dialect string

	// ForwarderTopic is the SQL topic (watermill-sql's name for a messages
	// table) that enveloped messages are written to, the topic a forwarder
	// reads. With Shards > 1 it is the base of the shard topics.
	// Default: DefaultOutboxTopic ("outbox").
	ForwarderTopic string

	// Shards splits the outbox into this many SQL topics, ForwarderTopic
	// followed by "_0" up to "_<Shards-1>", so that several forwarders can
	// drain it in parallel. ShardTopic picks the shard of each message from
	// its partition key, so one key always lands in one shard and keeps
	// its commit order. With 1 the topic is ForwarderTopic itself, with no
	// suffix, which is what Watermill's stock forwarder reads. At most
	// MaxShards. Default: 1.
	Shards int

	// PartitionKeyMetadata is the metadata entry holding a message's
	// partition key. It must match the key the Kafka publisher partitions
	// on. Default: MetadataPartitionKey.
	PartitionKeyMetadata string

	// Notifier, when set, is told about every shard topic after Notify is
	// called, which callers do once their transaction has committed. An
	// in-process forwarder implements it to drain at once instead of at
	// its next poll. Default: nil (no in-process wake-up).
	Notifier Notifier

	// DisablePostgresNotify turns off the pg_notify that Publish issues
	// inside the caller's transaction on PostgreSQL. PostgreSQL delivers
	// it to listeners on NotifyChannel(ForwarderTopic) only if the
	// transaction commits. Turning it off saves a statement per publish
	// and a short global lock at commit; forwarders then rely on polling.
	// Default: false (notify).
	DisablePostgresNotify bool
}

// OutboxConfigFrom takes the dialect from the sql section and the topic
// and shard count from the outbox section of a loaded configuration. The
// fields with no configuration key (Notifier, PartitionKeyMetadata,
// DisablePostgresNotify) are left for the caller.
func OutboxConfigFrom(c config.Config) OutboxConfig {
	return OutboxConfig{
		Dialect:        c.SQL.Dialect,
		ForwarderTopic: c.Outbox.Topic,
		Shards:         c.Outbox.Shards,
	}
}

func (c *OutboxConfig) setDefaults() {
	if c.Dialect == "" {
		c.Dialect = sqldialect.Postgres
	}
	if c.ForwarderTopic == "" {
		c.ForwarderTopic = DefaultOutboxTopic
	}
	if c.Shards == 0 {
		c.Shards = 1
	}
	if c.PartitionKeyMetadata == "" {
		c.PartitionKeyMetadata = MetadataPartitionKey
	}
}

// Validate reports every problem of the configuration at once. NewOutbox
// fills in defaults before it validates; a config checked on its own must
// have Dialect, ForwarderTopic and Shards set.
func (c OutboxConfig) Validate() error {
	var errs []error
	if _, err := sqldialect.Get(c.Dialect); err != nil {
		errs = append(errs, fmt.Errorf("dialect: %w", err))
	}
	if err := ValidateTopic(c.ForwarderTopic); err != nil {
		errs = append(errs, fmt.Errorf("forwarder topic: %w", err))
	}
	if c.Shards < 1 || c.Shards > MaxShards {
		errs = append(errs, fmt.Errorf("shards: %d is outside 1..%d", c.Shards, MaxShards))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("publisher: outbox config: %w", errors.Join(errs...))
}

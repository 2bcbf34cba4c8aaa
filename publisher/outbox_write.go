package publisher

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/components/forwarder"
	"github.com/ThreeDotsLabs/watermill/message"
)

// shardBatch is the messages of one Publish call bound for one shard, in
// the order they were given.
type shardBatch struct {
	sqlTopic string
	msgs     []*message.Message
}

// publish writes each shard's batch as one INSERT and queues the
// PostgreSQL notifications. It returns the shards written. Its callers
// check the input first (see check), before they touch the database.
func (o *Outbox) publish(
	ctx context.Context, exec wsql.ContextExecutor, topic string, msgs []*message.Message,
) ([]string, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	batches := o.split(msgs)
	shards := make([]string, 0, len(batches))
	for _, b := range batches {
		if err := o.insert(ctx, exec, topic, b); err != nil {
			return nil, err
		}
		shards = append(shards, b.sqlTopic)
	}
	if err := o.queueNotify(ctx, exec, shards); err != nil {
		return nil, err
	}
	return shards, nil
}

func (o *Outbox) check(ctx context.Context, topic string, msgs []*message.Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publisher: outbox: publish to %q: %w", topic, err)
	}
	if err := ValidateKafkaTopic(topic); err != nil {
		return err
	}
	for i, m := range msgs {
		if m == nil {
			return fmt.Errorf("publisher: outbox: publish to %q: message %d is nil", topic, i)
		}
	}
	return nil
}

// split groups msgs by shard, keeping their order within each shard.
func (o *Outbox) split(msgs []*message.Message) []shardBatch {
	if o.cfg.Shards <= 1 {
		return []shardBatch{{sqlTopic: o.cfg.ForwarderTopic, msgs: msgs}}
	}
	var batches []shardBatch
	index := map[string]int{}
	for _, m := range msgs {
		t := ShardTopic(o.cfg.ForwarderTopic, o.cfg.Shards, o.shardKey(m))
		i, ok := index[t]
		if !ok {
			i = len(batches)
			index[t] = i
			batches = append(batches, shardBatch{sqlTopic: t})
		}
		batches[i].msgs = append(batches[i].msgs, m)
	}
	return batches
}

// shardKey is the partition key of m, or its UUID when it has none.
func (o *Outbox) shardKey(m *message.Message) string {
	if k := m.Metadata.Get(o.cfg.PartitionKeyMetadata); k != "" {
		return k
	}
	return m.UUID
}

// insert writes one batch through watermill-sql's publisher, wrapped in
// Watermill's forwarder envelope, on exec under ctx.
func (o *Outbox) insert(
	ctx context.Context, exec wsql.ContextExecutor, topic string, b shardBatch,
) error {
	sqlPub, err := wsql.NewPublisher(
		ctxExecutor{ContextExecutor: exec, ctx: ctx},
		wsql.PublisherConfig{SchemaAdapter: o.dialect.SchemaAdapter()},
		o.logger,
	)
	if err != nil {
		return fmt.Errorf("publisher: outbox: sql publisher: %w", err)
	}
	fwd := forwarder.NewPublisher(sqlPub, forwarder.PublisherConfig{ForwarderTopic: b.sqlTopic})
	if err := fwd.Publish(topic, b.msgs...); err != nil {
		return fmt.Errorf("publisher: outbox: publish to %q via sql topic %q: %w",
			topic, b.sqlTopic, err)
	}
	for _, m := range b.msgs {
		o.logger.Debug("Message written to outbox", watermill.LogFields{
			"topic": topic, "sql_topic": b.sqlTopic, "message_uuid": m.UUID,
		})
	}
	return nil
}

// queueNotify issues one pg_notify per shard inside the transaction, which
// PostgreSQL delivers only if the transaction commits.
func (o *Outbox) queueNotify(
	ctx context.Context, exec wsql.ContextExecutor, shards []string,
) error {
	q := o.dialect.NotifyQuery()
	if q == "" || o.cfg.DisablePostgresNotify {
		return nil
	}
	channel := NotifyChannel(o.cfg.ForwarderTopic)
	for _, s := range shards {
		if _, err := exec.ExecContext(ctx, q, channel, s); err != nil {
			return fmt.Errorf("publisher: outbox: notify %q on channel %q: %w", s, channel, err)
		}
	}
	return nil
}

package publisher

import (
	"context"
	"database/sql"
	"reflect"
	"testing"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/components/forwarder"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/watermill-outbox/watermill-outbox/internal/sqldialect"
)

// TestOutboxInteropWithStockForwarder writes one message through the
// Outbox and one through Watermill's stock forwarder publisher over a
// watermill-sql publisher, in one transaction, and checks that both rows
// look the same and that Watermill's stock forwarder delivers both intact.
func TestOutboxInteropWithStockForwarder(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		db := migratedDB(t, dialect)
		ours := newMsg("77777777-7777-7777-7777-777777777771", `{"by":"outbox"}`,
			map[string]string{MetadataPartitionKey: "k1", "trace": "a"})
		theirs := newMsg("77777777-7777-7777-7777-777777777772", `{"by":"stock"}`,
			map[string]string{MetadataPartitionKey: "k2", "trace": "b"})
		tx := beginTx(t, db)
		if err := newTestOutbox(t, OutboxConfig{Dialect: dialect}).
			Publish(testCtx(t), tx, "orders", ours); err != nil {
			t.Fatalf("outbox publish: %v", err)
		}
		if err := stockPublisher(t, dialect, tx).Publish("orders", theirs); err != nil {
			t.Fatalf("stock publish: %v", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit: %v", err)
		}
		sent := []*message.Message{ours, theirs}
		assertEnvelopes(t, readOutbox(t, db, dialect, "outbox"), "orders", sent)
		got := drainWithStockForwarder(t, db, dialect, "orders", len(sent))
		for i, m := range sent {
			if got[i].UUID != m.UUID || string(got[i].Payload) != string(m.Payload) ||
				!reflect.DeepEqual(got[i].Metadata, m.Metadata) {
				t.Errorf("forwarded %d = %s %s %v, want %s %s %v", i, got[i].UUID,
					got[i].Payload, got[i].Metadata, m.UUID, m.Payload, m.Metadata)
			}
		}
	})
}

// stockPublisher is how a plain Watermill user writes to an outbox.
func stockPublisher(t *testing.T, dialect string, tx *sql.Tx) message.Publisher {
	d, _ := sqldialect.Get(dialect)
	cfg := wsql.PublisherConfig{SchemaAdapter: d.SchemaAdapter()}
	sqlPub, err := wsql.NewPublisher(tx, cfg, nil)
	if err != nil {
		t.Fatalf("stock sql publisher: %v", err)
	}
	return forwarder.NewPublisher(sqlPub, forwarder.PublisherConfig{ForwarderTopic: "outbox"})
}

// drainWithStockForwarder runs Watermill's forwarder component over the
// "outbox" SQL topic into an in-memory pub/sub and returns the first n
// messages that reach topic.
func drainWithStockForwarder(
	t *testing.T, db *sql.DB, dialect, topic string, n int,
) []*message.Message {
	t.Helper()
	d, _ := sqldialect.Get(dialect)
	sub, err := wsql.NewSubscriber(db, wsql.SubscriberConfig{
		ConsumerGroup: "interop", SchemaAdapter: d.SchemaAdapter(),
		OffsetsAdapter: d.OffsetsAdapter(), PollInterval: 50 * time.Millisecond,
	}, nil)
	if err != nil {
		t.Fatalf("subscriber: %v", err)
	}
	out := gochannel.NewGoChannel(gochannel.Config{Persistent: true}, nil)
	defer out.Close()
	fwd, err := forwarder.NewForwarder(sub, out, nil, forwarder.Config{ForwarderTopic: "outbox"})
	if err != nil {
		t.Fatalf("forwarder: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fwd.Run(ctx) }()
	defer func() { _ = fwd.Close(); <-done }()
	received, err := out.Subscribe(ctx, topic)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	var got []*message.Message
	for len(got) < n {
		select {
		case m := <-received:
			m.Ack()
			got = append(got, m)
		case <-ctx.Done():
			t.Fatalf("stock forwarder delivered %d of %d messages in time", len(got), n)
		}
	}
	return got
}

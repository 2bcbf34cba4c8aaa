package inbox_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// TestCrashAfterCommitBeforeOffsetCommit consumes from Kafka in a consumer
// group. The first consumer commits the handler's transaction (a business
// row and an outbox message) and is then shut down before it acknowledges,
// so the offset is never committed, as if it was killed at that moment. A
// second consumer in the same group gets the message again: the inbox must
// skip it as a duplicate, leaving one business row and one outbox row.
func TestCrashAfterCommitBeforeOffsetCommit(t *testing.T) {
	brokers := testenv.Kafka(t)
	forDialects(t, func(t *testing.T, e *env) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if err := publisher.Migrate(ctx, e.db.DB, e.dialect, "outbox"); err != nil {
			t.Fatalf("migrate outbox: %v", err)
		}
		ob, err := publisher.NewOutbox(publisher.OutboxConfig{Dialect: e.dialect}, nil)
		if err != nil {
			t.Fatalf("outbox: %v", err)
		}
		topic, group := testenv.Unique("orders_"), testenv.Unique("group_")
		testenv.CreateTopic(t, brokers, topic, 1)
		pub, _ := kafkaPubSub(t, brokers)
		msg := newMsg(`{"order":1}`)
		if err := pub.Publish(topic, msg); err != nil {
			t.Fatalf("publish: %v", err)
		}
		ib := e.inbox(e.config())
		var calls atomic.Int32
		handle := func(m *message.Message) error {
			calls.Add(1)
			if err := e.write(m, "crash test"); err != nil {
				return err
			}
			tx, _ := inbox.TxFromContext(m.Context())
			return ob.Publish(m.Context(), tx, "order-events", newMsg(`{"shipped":1}`))
		}

		committed := make(chan struct{})
		die := dieAfterCommit(committed)
		r1 := groupRouter(t, brokers, topic, group, ib.Middleware, die, handle)
		select {
		case <-committed:
		case <-ctx.Done():
			t.Fatal("first consumer never committed")
		}
		if err := r1.Close(); err != nil {
			t.Logf("close first router: %v", err)
		}

		r2 := groupRouter(t, brokers, topic, group, ib.Middleware, nil, handle)
		defer r2.Close()
		waitFor(t, 60*time.Second, func() bool { return e.metric("duplicate_total") >= 1 })
		outbox := e.count(`SELECT COUNT(*) FROM watermill_outbox`)
		if e.effects(msg.UUID) != 1 || outbox != 1 || calls.Load() != 1 {
			t.Fatalf("effects %d, outbox rows %d, handler calls %d; want 1 each",
				e.effects(msg.UUID), outbox, calls.Load())
		}
	})
}

// dieAfterCommit lets the first message through the inbox (which commits)
// and then never acknowledges it: it signals committed and waits for the
// shutdown, then nacks.
func dieAfterCommit(committed chan struct{}) message.HandlerMiddleware {
	var once atomic.Bool
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err != nil || !once.CompareAndSwap(false, true) {
				return out, err
			}
			close(committed)
			<-msg.Context().Done()
			return nil, errors.New("killed after commit, before ack")
		}
	}
}

// groupRouter runs a router consuming topic in a Kafka consumer group, with
// outer (if any) wrapped around the inbox middleware.
func groupRouter(t *testing.T, brokers []string, topic, group string,
	inner, outer message.HandlerMiddleware, handle message.NoPublishHandlerFunc) *message.Router {
	t.Helper()
	sub, err := kafka.NewSubscriber(kafka.SubscriberConfig{Brokers: brokers,
		Unmarshaler: kafka.DefaultMarshaler{}, OverwriteSaramaConfig: kafkaSaramaConfig(),
		ConsumerGroup: group}, watermill.NopLogger{})
	if err != nil {
		t.Fatalf("kafka subscriber: %v", err)
	}
	mw := inner
	if outer != nil {
		mw = func(h message.HandlerFunc) message.HandlerFunc { return outer(inner(h)) }
	}
	r := runRouter(t, sub, topic, mw, handle)
	t.Cleanup(func() { _ = sub.Close() })
	return r
}

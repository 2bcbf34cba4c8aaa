package router_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
	"github.com/watermill-outbox/watermill-outbox/router"
)

// TestTypedDecodeFailureIsPoisoned publishes a payload that is not JSON to
// a typed handler: it must reach the poison topic at once with the decode
// error, without the handler running, with and without the inbox, and the
// valid message behind it must be handled.
func TestTypedDecodeFailureIsPoisoned(t *testing.T) {
	forDialects(t, func(t *testing.T, db *testenv.DB) { checkDecodeFailure(t, db, "1") })
	t.Run("no-inbox", func(t *testing.T) { checkDecodeFailure(t, nil, "") })
}

func checkDecodeFailure(t *testing.T, db *testenv.DB, wantAttempts string) {
	b := gochannel(t)
	c := baseConfig(b, db)
	r := newRouter(t, c)
	var calls atomic.Int32
	var gotID atomic.Value
	topic := testenv.Unique("typed_")
	err := router.Handle(r, "typed", topic, func(_ context.Context, e OrderPlaced) error {
		calls.Add(1)
		gotID.Store(e.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, r)
	bad, good := newMsg("{not json"), newMsg(`{"ID":"o-1"}`)
	publish(t, b.Publisher, topic, bad, good)
	got := collect(t, b.Subscriber, c.Inbox.PoisonTopic, 1, 20*time.Second)[0]
	if got.UUID != bad.UUID || string(got.Payload) != "{not json" {
		t.Fatalf("poisoned %s %q, want the bad message", got.UUID, got.Payload)
	}
	reason := got.Metadata.Get(inbox.MetadataPoisonError)
	mustContain(t, "poison reason", reason, "cannot decode payload")
	if a := got.Metadata.Get(inbox.MetadataPoisonAttempts); a != wantAttempts {
		t.Errorf("poison attempts = %q, want %q (no retry)", a, wantAttempts)
	}
	waitFor(t, 20*time.Second, "good message handled", func() bool { return calls.Load() == 1 })
	if gotID.Load() != "o-1" {
		t.Fatalf("handler got %v, want o-1", gotID.Load())
	}
}

// TestCorrelationIDFlowsOut checks that the incoming correlation id (or,
// without one, the incoming UUID) is on the message a handler publishes
// through the outbox on its inbox transaction, and on the messages
// HandleAndPublish returns, events and raw messages alike.
func TestCorrelationIDFlowsOut(t *testing.T) {
	forDialects(t, func(t *testing.T, db *testenv.DB) {
		b := gochannel(t)
		c := baseConfig(b, db)
		r := newRouter(t, c)
		in, out, viaOutbox := testenv.Unique("in_"), testenv.Unique("out_"), testenv.Unique("ob_")
		outboxTopic := testenv.Unique("outbox_")
		ob := migratedOutbox(t, db, outboxTopic)
		err := router.HandleAndPublish(r, "corr", in, out,
			func(ctx context.Context, e OrderPlaced) ([]any, error) {
				tx, _ := inbox.TxFromContext(ctx)
				ev, err := publisher.NewEventPublisher(ob.Publisher(tx), publisher.EventPublisherConfig{}, nil)
				if err == nil {
					err = ev.Publish(ctx, viaOutbox, OrderShipped(e))
				}
				raw := message.NewMessage(e.ID+"-raw", []byte("{}"))
				return []any{OrderShipped(e), raw}, err
			})
		if err != nil {
			t.Fatal(err)
		}
		startForwarder(t, db, b, outboxTopic)
		run(t, r)
		withID, withoutID := newMsg(`{"ID":"a"}`), newMsg(`{"ID":"b"}`)
		withID.Metadata.Set(publisher.MetadataCorrelationID, "corr-a")
		publish(t, b.Publisher, in, withID, withoutID)
		want := map[string]string{"a": "corr-a", "b": withoutID.UUID}
		checkCorrelation(t, collect(t, b.Subscriber, viaOutbox, 2, 20*time.Second), want)
		checkCorrelation(t, collect(t, b.Subscriber, out, 4, 20*time.Second), want)
	})
}

func migratedOutbox(t *testing.T, db *testenv.DB, topic string) *publisher.Outbox {
	t.Helper()
	if err := publisher.Migrate(context.Background(), db.DB, db.Dialect, topic); err != nil {
		t.Fatalf("migrate outbox: %v", err)
	}
	ob, err := publisher.NewOutbox(
		publisher.OutboxConfig{Dialect: db.Dialect, ForwarderTopic: topic}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ob
}

// checkCorrelation matches each message to its order (from the JSON
// payload, or the raw message's UUID) and checks its correlation id.
func checkCorrelation(t *testing.T, msgs []*message.Message, want map[string]string) {
	t.Helper()
	m := cqrs.JSONMarshaler{}
	for _, msg := range msgs {
		var e OrderShipped
		id := ""
		if err := m.Unmarshal(msg, &e); err == nil && e.ID != "" {
			id = e.ID
		} else {
			id = msg.UUID[:1]
		}
		if got := msg.Metadata.Get(publisher.MetadataCorrelationID); got != want[id] {
			t.Errorf("message %s for order %q: correlation id %q, want %q", msg.UUID, id, got, want[id])
		}
	}
}

// TestReturnedMessagesThroughOutbox sets Config.Outbox: the messages a
// HandleAndPublish handler returns must be written in the inbox
// transaction (nothing is published before the forwarder runs), so an
// attempt that fails after the handler returned leaves none behind, and
// the message is forwarded exactly once.
func TestReturnedMessagesThroughOutbox(t *testing.T) {
	forDialects(t, func(t *testing.T, db *testenv.DB) {
		b := gochannel(t)
		c := baseConfig(b, db)
		outboxTopic := testenv.Unique("outbox_")
		c.Outbox = migratedOutbox(t, db, outboxTopic)
		r := newRouter(t, c)
		in, out := testenv.Unique("in_"), testenv.Unique("out_")
		var attempts atomic.Int32
		r.AddMiddleware("fail-first-attempt-late", func(h message.HandlerFunc) message.HandlerFunc {
			return func(msg *message.Message) ([]*message.Message, error) {
				res, err := h(msg)
				if attempts.Add(1) == 1 {
					return nil, errors.New("failed after the handler returned")
				}
				return res, err
			}
		})
		err := router.HandleAndPublish(r, "ret", in, out,
			func(_ context.Context, e OrderPlaced) ([]any, error) {
				return []any{OrderShipped(e)}, nil
			})
		if err != nil {
			t.Fatal(err)
		}
		run(t, r)
		m := newMsg(`{"ID":"r"}`)
		m.Metadata.Set(publisher.MetadataCorrelationID, "corr-r")
		publish(t, b.Publisher, in, m)
		waitFor(t, 20*time.Second, "message processed", func() bool {
			return metricSum(t, c.Registry, "watermill_outbox_inbox_processed_total") == 1
		})
		if n := countWithin(t, b.Subscriber, out, 300*time.Millisecond); n != 0 {
			t.Fatalf("%d messages published by the router itself, want none", n)
		}
		startForwarder(t, db, b, outboxTopic)
		checkCorrelation(t, collect(t, b.Subscriber, out, 1, 20*time.Second),
			map[string]string{"r": "corr-r"})
		if n := countWithin(t, b.Subscriber, out, 500*time.Millisecond); n != 1 || attempts.Load() != 2 {
			t.Fatalf("%d messages forwarded after %d attempts, want 1 after 2", n, attempts.Load())
		}
	})
}

// countWithin subscribes to topic and counts what arrives within d.
func countWithin(t *testing.T, sub message.Subscriber, topic string, d time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	ch, err := sub.Subscribe(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				return n
			}
			m.Ack()
			n++
		case <-ctx.Done():
			return n
		}
	}
}

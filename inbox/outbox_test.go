package inbox_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// sqlPublisher builds a plain watermill-sql publisher on the inbox tx.
func sqlPublisher(e *env, msg *message.Message) (message.Publisher, error) {
	tx, ok := inbox.TxFromContext(msg.Context())
	if !ok {
		return nil, errors.New("no inbox transaction")
	}
	var schema wsql.SchemaAdapter = wsql.DefaultPostgreSQLSchema{}
	if e.dialect == "mysql" {
		schema = wsql.DefaultMySQLSchema{}
	}
	return wsql.NewPublisher(tx, wsql.PublisherConfig{SchemaAdapter: schema}, watermill.NopLogger{})
}

// TestOutboxWritesCommitWithTheInboxRow shows the handler's own writes and
// the messages it publishes through the outbox (and through a plain
// watermill-sql publisher on the same tx) rolled back with a failed attempt
// and committed exactly once with the successful one.
func TestOutboxWritesCommitWithTheInboxRow(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := publisher.Migrate(ctx, e.db.DB, e.dialect, "outbox", "direct"); err != nil {
			t.Fatalf("migrate outbox: %v", err)
		}
		ob, err := publisher.NewOutbox(publisher.OutboxConfig{Dialect: e.dialect}, nil)
		if err != nil {
			t.Fatalf("outbox: %v", err)
		}
		var calls atomic.Int32
		h := e.inbox(e.config()).Middleware(func(msg *message.Message) ([]*message.Message, error) {
			if err := e.write(msg, "with outbox"); err != nil {
				return nil, err
			}
			tx, _ := inbox.TxFromContext(msg.Context())
			event := newMsg(`{"shipped":true}`)
			if err := ob.Publish(msg.Context(), tx, "order-events", event); err != nil {
				return nil, err
			}
			pub, err := sqlPublisher(e, msg)
			if err != nil {
				return nil, err
			}
			if err := pub.Publish("direct", newMsg(`{"direct":true}`)); err != nil {
				return nil, err
			}
			if calls.Add(1) == 1 {
				return nil, errors.New("fails after publishing")
			}
			return nil, nil
		})
		msg := newMsg("order")
		for range 2 { // the second is a redelivery
			if _, err := h(msg.Copy()); err != nil {
				t.Fatalf("handle: %v", err)
			}
		}
		if e.metric("poisoned_total") != 0 {
			t.Fatal("message poisoned")
		}
		outbox := e.count(`SELECT COUNT(*) FROM watermill_outbox`)
		direct := e.count(`SELECT COUNT(*) FROM watermill_direct`)
		if e.effects(msg.UUID) != 1 || outbox != 1 || direct != 1 {
			t.Fatalf("effects %d, outbox rows %d, direct rows %d; want 1 each",
				e.effects(msg.UUID), outbox, direct)
		}
	})
}

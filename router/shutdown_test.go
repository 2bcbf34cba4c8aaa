package router_test

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/router"
)

func sqlBackend(t *testing.T, db *testenv.DB, group string) *router.Backend {
	t.Helper()
	c := config.Default()
	c.Router.ConsumerGroup = group
	bc := router.BackendConfig{Config: c}
	setupSQL(t, &bc, db, nil)
	b, err := router.NewBackend(context.Background(), bc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// TestShutdownLeavesInFlightMessageForRedelivery closes a router while its
// handler is in the middle of a message: the inbox transaction must roll
// back, and a second router of the same consumer group must then apply the
// message exactly once.
func TestShutdownLeavesInFlightMessageForRedelivery(t *testing.T) {
	forDialects(t, func(t *testing.T, db *testenv.DB) {
		e := newEffects(t, db)
		group, topic := testenv.Unique("group_"), testenv.Unique("shut_")
		b1 := sqlBackend(t, db, group)
		c := baseConfig(b1, db)
		c.Router.ConsumerGroup = group
		c.Router.CloseTimeout = 2 * time.Second
		r1 := newRouter(t, c)
		entered := make(chan struct{}, 1)
		err := r1.AddHandler("shut", topic, func(msg *message.Message) error {
			tx, _ := inbox.TxFromContext(msg.Context())
			if _, err := e.begin(msg.Context(), tx, msg.UUID); err != nil {
				return err
			}
			entered <- struct{}{}
			select {
			case <-msg.Context().Done():
				return msg.Context().Err()
			case <-time.After(15 * time.Second):
				return nil
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		run(t, r1)
		m := newMsg(`{"in":"flight"}`)
		publish(t, b1.Publisher, topic, m)
		select {
		case <-entered:
		case <-time.After(20 * time.Second):
			t.Fatal("handler not entered within 20s")
		}
		_ = r1.Close()
		if got := e.committed(t, m.UUID); len(got) != 0 {
			t.Fatalf("attempts %v committed by the closed router, want none", got)
		}
		c.Backend = sqlBackend(t, db, group)
		r2 := newRouter(t, c)
		err = r2.AddHandler("shut", topic, func(msg *message.Message) error {
			tx, _ := inbox.TxFromContext(msg.Context())
			_, err := e.begin(msg.Context(), tx, msg.UUID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		run(t, r2)
		waitFor(t, 20*time.Second, "redelivered message applied", func() bool {
			return len(e.committed(t, m.UUID)) == 1
		})
	})
}

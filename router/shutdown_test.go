package router_test

import (
	"context"
	"slices"
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

// TestShutdown closes a router while its handler is in the middle of a
// message. A handler that finishes within the close timeout commits; one
// that is still waiting when it expires is cancelled and rolled back. A
// second router of the same consumer group must then leave the message
// applied exactly once: by the first router, or by itself.
func TestShutdown(t *testing.T) {
	cases := []struct {
		name  string
		work  time.Duration // how long the handler works, ignoring ctx unless 0
		first []int         // attempts committed by the first router
	}{
		{"finishes within close timeout", 300 * time.Millisecond, []int{1}},
		{"cut short at close timeout", 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forDialects(t, func(t *testing.T, db *testenv.DB) {
				checkShutdown(t, db, tc.work, tc.first)
			})
		})
	}
}

func checkShutdown(t *testing.T, db *testenv.DB, work time.Duration, first []int) {
	e := newEffects(t, db)
	group, topic := testenv.Unique("group_"), testenv.Unique("shut_")
	c := baseConfig(sqlBackend(t, db, group), db)
	c.Router.ConsumerGroup = group
	c.Router.CloseTimeout = time.Second
	r1 := newRouter(t, c)
	entered := make(chan struct{}, 1)
	add(t, r1, topic, func(msg *message.Message) error {
		entered <- struct{}{}
		if work == 0 {
			<-msg.Context().Done()
			return msg.Context().Err()
		}
		time.Sleep(work)
		tx, _ := inbox.TxFromContext(msg.Context())
		_, err := e.begin(msg.Context(), tx, msg.UUID)
		return err
	})
	run(t, r1)
	m := newMsg(`{"in":"flight"}`)
	publish(t, c.Backend.Publisher, topic, m)
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("handler not entered within 20s")
	}
	_ = r1.Close()
	if got := e.committed(t, m.UUID); !slices.Equal(got, first) {
		t.Fatalf("attempts %v committed by the closed router, want %v", got, first)
	}
	c.Backend = sqlBackend(t, db, group)
	r2 := newRouter(t, c)
	add(t, r2, topic, func(msg *message.Message) error {
		tx, _ := inbox.TxFromContext(msg.Context())
		_, err := e.begin(msg.Context(), tx, msg.UUID)
		return err
	})
	run(t, r2)
	waitFor(t, 20*time.Second, "message applied", func() bool {
		return len(e.committed(t, m.UUID)) == 1
	})
	time.Sleep(300 * time.Millisecond) // a second application would show now
	if got := e.committed(t, m.UUID); len(got) != 1 {
		t.Fatalf("attempts %v committed in all, want exactly one", got)
	}
}

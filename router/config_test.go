package router_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
	"github.com/watermill-outbox/watermill-outbox/router"
)

func TestValidateListsEveryProblem(t *testing.T) {
	c := router.Config{DB: &sql.DB{}}
	c.Router.HandlerTimeout = -1
	c.Inbox.MaxAttempts = -2
	c.Middleware.Levels.Failed = "loud"
	c.Extra = []router.NamedMiddleware{{Name: "nothing"}}
	_, err := router.New(context.Background(), c)
	if err == nil {
		t.Fatal("New accepted a broken config")
	}
	for _, want := range []string{"Backend is required", "Dialect is required",
		"handler_timeout -1ns", "max_attempts -2", `Extra[0] "nothing"`, `Failed "loud"`} {
		mustContain(t, "error", err.Error(), want)
	}
	if !errors.Is(err, router.ErrUnknownLevel) {
		t.Fatalf("err does not wrap ErrUnknownLevel: %v", err)
	}
}

// TestMiddlewareOrder checks the documented order with the inbox on and
// off, the switches, and where user middleware lands.
func TestMiddlewareOrder(t *testing.T) {
	b := gochannel(t)
	db := testenv.Postgres(t)
	nop := func(h message.HandlerFunc) message.HandlerFunc { return h }
	cases := []struct {
		name string
		mod  func(*router.Config)
		want []string
	}{
		{"inbox", func(c *router.Config) { c.DB, c.Dialect = db.DB, db.Dialect }, []string{
			"shutdown_grace", "correlation_id", "logging", "metrics", "inbox(retry+poison+tx)",
			"logging.attempt", "timeout", "panic_recovery", "audit", "user#2", "handler"}},
		{"no inbox", nil, []string{
			"shutdown_grace", "correlation_id", "logging", "metrics", "poison_queue", "retry",
			"logging.attempt", "timeout", "panic_recovery", "audit", "user#2", "handler"}},
		{"all off", func(c *router.Config) {
			c.Middleware = router.MiddlewareConfig{DisableShutdownGrace: true,
				DisableRecovery: true, DisableCorrelation: true,
				DisableLogging: true, DisableMetrics: true, DisableTimeout: true,
				DisableRetry: true, DisablePoison: true}
		}, []string{"audit", "user#2", "handler"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := baseConfig(b, nil)
			c.Router.HandlerTimeout = 1e9
			c.Extra = []router.NamedMiddleware{{Name: "audit", Middleware: nop}}
			if tc.mod != nil {
				tc.mod(&c)
			}
			r := newRouter(t, c)
			r.AddMiddleware("", nop)
			if got := r.MiddlewareOrder(); !slices.Equal(got, tc.want) {
				t.Fatalf("order = %v\nwant    %v", got, tc.want)
			}
		})
	}
}

func TestSecondHandlerOnTopicRefused(t *testing.T) {
	r := newRouter(t, baseConfig(gochannel(t), nil))
	h := func(*message.Message) error { return nil }
	if err := r.AddHandler("a", "t", h); err != nil {
		t.Fatal(err)
	}
	if err := r.AddHandler("b", "t", h); !errors.Is(err, router.ErrTopicTaken) {
		t.Fatalf("second handler on one topic: err = %v, want ErrTopicTaken", err)
	}
}

// TestUserMiddlewareAndPlugins checks that a plugin runs when the router
// starts and that user middleware runs per attempt inside the standard
// chain: it sees the inbox transaction and the correlation id.
func TestUserMiddlewareAndPlugins(t *testing.T) {
	db := testenv.Postgres(t)
	b := gochannel(t)
	c := baseConfig(b, db)
	var plugged atomic.Bool
	c.Plugins = []message.RouterPlugin{func(*message.Router) error { plugged.Store(true); return nil }}
	r := newRouter(t, c)
	seen := make(chan string, 4)
	r.AddMiddleware("probe", func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			_, tx := inbox.TxFromContext(msg.Context())
			seen <- fmt.Sprintf("tx=%v corr=%s", tx, publisher.CorrelationID(msg.Context()))
			return h(msg)
		}
	})
	topic := testenv.Unique("user_")
	add(t, r, topic, func(*message.Message) error { return nil })
	run(t, r)
	if !plugged.Load() {
		t.Fatal("plugin did not run at start")
	}
	m := newMsg("x")
	m.Metadata.Set(publisher.MetadataCorrelationID, "corr-u")
	publish(t, b.Publisher, topic, m)
	select {
	case got := <-seen:
		if got != "tx=true corr=corr-u" {
			t.Fatalf("user middleware saw %q", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("user middleware not called within 20s")
	}
}

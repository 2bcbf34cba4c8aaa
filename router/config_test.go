package router_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
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

package router_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/router"
)

// gochannel returns an in-process backend that keeps messages for late
// subscribers, closed when the test ends.
func gochannel(t *testing.T) *router.Backend {
	t.Helper()
	c := config.Default()
	c.Router.Backend = "gochannel"
	b, err := router.NewBackend(context.Background(),
		router.BackendConfig{Config: c, GoChannelPersistent: true})
	if err != nil {
		t.Fatalf("gochannel backend: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// baseConfig is a router config with fast retries and unique names.
func baseConfig(b *router.Backend, db *testenv.DB) router.Config {
	c := router.Config{Backend: b, Registry: prometheus.NewRegistry()}
	c.Router.ConsumerGroup = testenv.Unique("group_")
	c.Router.CloseTimeout = 5 * time.Second
	c.Inbox.MaxAttempts = 3
	c.Inbox.RetryInitial = 5 * time.Millisecond
	c.Inbox.RetryMax = 20 * time.Millisecond
	c.Inbox.PoisonTopic = testenv.Unique("poison_")
	c.Inbox.TxTimeout = 10 * time.Second
	if db != nil {
		c.DB, c.Dialect = db.DB, db.Dialect
	}
	return c
}

func newRouter(t *testing.T, c router.Config) *router.Router {
	t.Helper()
	r, err := router.New(context.Background(), c)
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	return r
}

// run starts r and waits until its handlers run; r is closed when the test
// ends.
func run(t *testing.T, r *router.Router) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	var runErr error
	go func() { runErr = r.Run(ctx); close(stopped) }()
	t.Cleanup(func() {
		cancel()
		_ = r.Close()
		select {
		case <-stopped:
		case <-time.After(30 * time.Second):
			t.Errorf("router did not stop within 30s")
		}
	})
	select {
	case <-r.Running():
	case <-stopped:
		t.Fatalf("router stopped at start: %v", runErr)
	case <-time.After(30 * time.Second):
		t.Fatalf("router not running after 30s")
	}
}

// waitFor polls cond every 10ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// collect reads n messages of topic from sub, acking each, within d.
func collect(t *testing.T, sub message.Subscriber, topic string, n int, d time.Duration,
) []*message.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	ch, err := sub.Subscribe(ctx, topic)
	if err != nil {
		t.Fatalf("subscribe %q: %v", topic, err)
	}
	var got []*message.Message
	for len(got) < n {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatalf("topic %q closed after %d of %d messages", topic, len(got), n)
			}
			m.Ack()
			got = append(got, m)
		case <-ctx.Done():
			t.Fatalf("topic %q: %d of %d messages within %s", topic, len(got), n, d)
		}
	}
	return got
}

func publish(t *testing.T, pub message.Publisher, topic string, msgs ...*message.Message) {
	t.Helper()
	if err := pub.Publish(topic, msgs...); err != nil {
		t.Fatalf("publish to %q: %v", topic, err)
	}
}

func newMsg(payload string) *message.Message {
	return message.NewMessage(watermill.NewUUID(), []byte(payload))
}

// effects is a table the handlers write to through the inbox transaction:
// a row survives only if its attempt committed.
type effects struct {
	db      *testenv.DB
	mu      sync.Mutex
	begun   map[string]int
	attempt map[string]int
}

func newEffects(t *testing.T, db *testenv.DB) *effects {
	t.Helper()
	if _, err := db.DB.Exec("CREATE TABLE effects (uuid VARCHAR(64), attempt INT)"); err != nil {
		t.Fatalf("create effects: %v", err)
	}
	return &effects{db: db, begun: map[string]int{}, attempt: map[string]int{}}
}

// begin counts an attempt of the message and writes its row through tx.
func (e *effects) begin(ctx context.Context, tx *sql.Tx, uuid string) (int, error) {
	e.mu.Lock()
	e.begun[uuid]++
	n := e.begun[uuid]
	e.mu.Unlock()
	q := "INSERT INTO effects (uuid, attempt) VALUES (?, ?)"
	if e.db.Dialect == "postgres" {
		q = "INSERT INTO effects (uuid, attempt) VALUES ($1, $2)"
	}
	_, err := tx.ExecContext(ctx, q, uuid, n)
	return n, err
}

func (e *effects) begunOf(uuid string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.begun[uuid]
}

// committed lists the attempts of uuid whose rows were committed.
func (e *effects) committed(t *testing.T, uuid string) []int {
	t.Helper()
	q := "SELECT attempt FROM effects WHERE uuid = ? ORDER BY attempt"
	if e.db.Dialect == "postgres" {
		q = "SELECT attempt FROM effects WHERE uuid = $1 ORDER BY attempt"
	}
	rows, err := e.db.DB.Query(q, uuid)
	if err != nil {
		t.Fatalf("query effects: %v", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatalf("scan effects: %v", err)
		}
		out = append(out, n)
	}
	return out
}

// poisonReasons maps the UUID of each poisoned message to its error.
func poisonReasons(msgs []*message.Message) map[string]string {
	out := map[string]string{}
	for _, m := range msgs {
		out[m.UUID] = m.Metadata.Get("reason_poisoned")
	}
	return out
}

func mustContain(t *testing.T, what, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%s = %q, want it to contain %q", what, s, sub)
	}
}

func forDialects(t *testing.T, f func(t *testing.T, db *testenv.DB)) {
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) { f(t, testenv.Open(t, d)) })
	}
}

func configSecret(s string) config.Secret { return config.Secret(s) }

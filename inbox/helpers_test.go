package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// env is one test's database with the inbox table and a business table
// "effects" that handlers write one row per applied message into. The
// effects table has no key, so applying a message twice shows as two rows.
type env struct {
	t       testing.TB
	db      *testenv.DB
	poison  *gochannel.GoChannel
	reg     *prometheus.Registry
	dialect string
}

func newEnv(t testing.TB, dialect string) *env {
	t.Helper()
	db := testenv.Open(t, dialect)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := inbox.Migrate(ctx, db.DB, dialect, "watermill_inbox"); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	create := `CREATE TABLE effects (message_id VARCHAR(255) NOT NULL, note VARCHAR(64))`
	if _, err := db.DB.ExecContext(ctx, create); err != nil {
		t.Fatalf("create effects: %v", err)
	}
	poison := gochannel.NewGoChannel(gochannel.Config{Persistent: true}, watermill.NopLogger{})
	t.Cleanup(func() { _ = poison.Close() })
	return &env{t: t, db: db, poison: poison, reg: prometheus.NewRegistry(), dialect: dialect}
}

// config returns an inbox config with tiny backoffs for tests.
func (e *env) config() inbox.Config {
	c := inbox.Config{DB: e.db.DB, Dialect: e.dialect, Publisher: e.poison, Registerer: e.reg}
	c.ConsumerGroup = "test-group"
	c.PoisonTopic = "test.poison"
	c.MaxAttempts = 3
	c.RetryInitial = time.Millisecond
	c.RetryMax = 5 * time.Millisecond
	c.TxTimeout = 10 * time.Second
	return c
}

func (e *env) inbox(c inbox.Config) *inbox.Inbox {
	e.t.Helper()
	ib, err := inbox.New(c)
	if err != nil {
		e.t.Fatalf("inbox.New: %v", err)
	}
	return ib
}

func (e *env) ph(n int) string {
	if e.dialect == "postgres" {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

// write inserts the effect row of msg through the inbox transaction.
func (e *env) write(msg *message.Message, note string) error {
	tx, ok := inbox.TxFromContext(msg.Context())
	if !ok {
		return errors.New("no inbox transaction in the message context")
	}
	q := `INSERT INTO effects (message_id, note) VALUES (` + e.ph(1) + `, ` + e.ph(2) + `)`
	_, err := tx.ExecContext(msg.Context(), q, msg.UUID, note)
	return err
}

// effects counts the effect rows of one message id.
func (e *env) effects(id string) int {
	e.t.Helper()
	return e.count(`SELECT COUNT(*) FROM effects WHERE message_id = `+e.ph(1), id)
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.DB.QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// metric reads a counter of the inbox metrics registered on e.reg.
func (e *env) metric(name string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatalf("gather: %v", err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != "watermill_outbox_inbox_"+name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// poisoned collects what arrives on the poison topic within wait.
func (e *env) poisoned(topic string, want int, wait time.Duration) []*message.Message {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ch, err := e.poison.Subscribe(ctx, topic)
	if err != nil {
		e.t.Fatalf("subscribe poison: %v", err)
	}
	var got []*message.Message
	for len(got) < want {
		select {
		case m := <-ch:
			m.Ack()
			got = append(got, m)
		case <-ctx.Done():
			return got
		}
	}
	return got
}

func newMsg(payload string) *message.Message {
	return message.NewMessage(watermill.NewUUID(), []byte(payload))
}

// forDialects runs f as a subtest on every dialect.
// The test itself runs in parallel with the other tests of the package.
func forDialects(t *testing.T, f func(t *testing.T, e *env)) {
	t.Parallel()
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			f(t, newEnv(t, d))
		})
	}
}

package router_test

import (
	"context"
	"sync"
	"testing"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	wmforwarder "github.com/ThreeDotsLabs/watermill/components/forwarder"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
	"github.com/watermill-outbox/watermill-outbox/router"
)

// OrderPlaced is the event the pipeline starts with.
type OrderPlaced struct{ ID string }

// OrderShipped is what the first handler publishes through the outbox.
type OrderShipped struct{ ID string }

// OrderBilled is what the first handler returns for the router to publish.
type OrderBilled struct{ ID string }

// backendCase builds one backend for the pipeline test.
type backendCase struct {
	name    string
	dialect string // database for the inbox and the outbox
	early   bool   // a message published before the router starts arrives
	setup   func(t *testing.T, c *router.BackendConfig, db *testenv.DB, topics []string)
}

var backendCases = []backendCase{
	{"kafka", "postgres", true, setupKafka},
	{"sql-postgres", "postgres", true, setupSQL},
	{"sql-mysql", "mysql", true, setupSQL},
	{"gochannel", "postgres", true, setupGoChannel},
	{"amqp", "postgres", false, setupAMQP},
	{"nats", "postgres", true, setupNATS},
	{"redis", "postgres", true, setupRedis},
}

func setupKafka(t *testing.T, c *router.BackendConfig, _ *testenv.DB, topics []string) {
	brokers := testenv.Kafka(t)
	for _, tp := range topics {
		testenv.CreateTopic(t, brokers, tp, 1)
	}
	c.Config.Router.Backend = "kafka"
	c.Config.Kafka.Brokers = brokers
}

func setupGoChannel(_ *testing.T, c *router.BackendConfig, _ *testenv.DB, _ []string) {
	c.Config.Router.Backend = "gochannel"
	c.GoChannelPersistent = true
}

func setupSQL(_ *testing.T, c *router.BackendConfig, db *testenv.DB, _ []string) {
	c.Config.Router.Backend = "sql"
	c.Config.SQL.Dialect = db.Dialect
	c.DB = db.DB
	c.SQLPollInterval = 50 * time.Millisecond
}

// shipped records what the second handler saw.
type shipped struct {
	mu   sync.Mutex
	seen map[string][]string // order id -> correlation ids
}

func (s *shipped) add(id, corr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[id] = append(s.seen[id], corr)
}

func (s *shipped) get(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen[id]...)
}

// TestPipelineOnEveryBackend runs publish -> handler with inbox -> outbox
// -> forwarder -> second handler on every backend; the first handler also
// returns an event that the router publishes to a third handler. The correlation id of
// the first message must reach the second handler through the outbox, a
// redelivered copy of the first message must change nothing, and (where
// the backend keeps messages) one published before the router started
// must arrive too.
func TestPipelineOnEveryBackend(t *testing.T) {
	for _, bc := range backendCases {
		t.Run(bc.name, func(t *testing.T) { runPipeline(t, bc) })
	}
}

func runPipeline(t *testing.T, bc backendCase) {
	db := testenv.Open(t, bc.dialect)
	placed, ship, billed := testenv.Unique("placed_"), testenv.Unique("shipped_"),
		testenv.Unique("billed_")
	outboxTopic := testenv.Unique("outbox_")
	bcfg := router.BackendConfig{Config: config.Default()}
	c := baseConfig(nil, db)
	bcfg.Config.Router.ConsumerGroup = c.Router.ConsumerGroup
	bc.setup(t, &bcfg, db, []string{placed, ship, billed, c.Inbox.PoisonTopic})
	b, err := router.NewBackend(context.Background(), bcfg)
	if err != nil {
		t.Fatalf("backend: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	c.Backend = b
	ev := eventPublisher(t, b)
	if bc.early {
		if err := ev.Publish(ctxWithCorr("corr-early"), placed, OrderPlaced{ID: "early"}); err != nil {
			t.Fatalf("publish early: %v", err)
		}
	}
	seen := &shipped{seen: map[string][]string{}}
	r := newRouter(t, c)
	addPipelineHandlers(t, r, db, outboxTopic, placed, ship, billed, seen)
	startForwarder(t, db, b, outboxTopic)
	run(t, r)
	main, err := ev.NewMessage(ctxWithCorr("corr-main"), OrderPlaced{ID: "main"})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b.Publisher, placed, main)
	for _, id := range []string{"main", "billed-main"} {
		checkShipped(t, seen, id, "corr-main")
	}
	if bc.early {
		checkShipped(t, seen, "early", "corr-early")
		checkShipped(t, seen, "billed-early", "corr-early")
	}
	publish(t, b.Publisher, placed, main.Copy())
	waitFor(t, 30*time.Second, "duplicate skipped", func() bool {
		return metricSum(t, c.Registry, "watermill_outbox_inbox_duplicate_total") >= 1
	})
	time.Sleep(300 * time.Millisecond) // a second outbox row would be forwarded by now
	for _, id := range []string{"main", "billed-main"} {
		if got := seen.get(id); len(got) != 1 {
			t.Fatalf("%s seen %d times after a duplicate, want 1", id, len(got))
		}
	}
}

func ctxWithCorr(id string) context.Context {
	return publisher.WithCorrelationID(context.Background(), id)
}

func eventPublisher(t *testing.T, b *router.Backend) *publisher.EventPublisher {
	ev, err := publisher.NewEventPublisher(b.Publisher, publisher.EventPublisherConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// addPipelineHandlers adds the handler that publishes OrderShipped through
// the outbox in its inbox transaction, and the one that records it.
func addPipelineHandlers(t *testing.T, r *router.Router, db *testenv.DB,
	outboxTopic, placed, ship, billed string, seen *shipped) {
	t.Helper()
	if err := publisher.Migrate(context.Background(), db.DB, db.Dialect, outboxTopic); err != nil {
		t.Fatalf("migrate outbox: %v", err)
	}
	ob, err := publisher.NewOutbox(publisher.OutboxConfig{
		Dialect: db.Dialect, ForwarderTopic: outboxTopic,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = router.HandleAndPublish(r, "place", placed, billed,
		func(ctx context.Context, e OrderPlaced) ([]any, error) {
			tx, _ := inbox.TxFromContext(ctx)
			ev, err := publisher.NewEventPublisher(ob.Publisher(tx), publisher.EventPublisherConfig{}, nil)
			if err != nil {
				return nil, err
			}
			return []any{OrderBilled(e)}, ev.Publish(ctx, ship, OrderShipped(e))
		})
	if err != nil {
		t.Fatal(err)
	}
	err = router.Handle(r, "ship", ship, func(ctx context.Context, e OrderShipped) error {
		seen.add(e.ID, publisher.CorrelationID(ctx))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = router.Handle(r, "bill", billed, func(ctx context.Context, e OrderBilled) error {
		seen.add("billed-"+e.ID, publisher.CorrelationID(ctx))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// startForwarder drains the outbox table into the backend with Watermill's
// stock forwarder (the project's own forwarder reads the same rows).
func startForwarder(t *testing.T, db *testenv.DB, b *router.Backend, outboxTopic string) {
	t.Helper()
	schema, offsets := sqlAdapters(db.Dialect)
	sub, err := wsql.NewSubscriber(db.DB, wsql.SubscriberConfig{
		ConsumerGroup: "fwd", SchemaAdapter: schema, OffsetsAdapter: offsets,
		PollInterval: 20 * time.Millisecond,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := wmforwarder.NewForwarder(sub, b.Publisher, nil,
		wmforwarder.Config{ForwarderTopic: outboxTopic, CloseTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = fwd.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		_ = fwd.Close()
		<-done
	})
	select {
	case <-fwd.Running():
	case <-time.After(20 * time.Second):
		t.Fatal("forwarder not running after 20s")
	}
}

func sqlAdapters(dialect string) (wsql.SchemaAdapter, wsql.OffsetsAdapter) {
	if dialect == "mysql" {
		return wsql.DefaultMySQLSchema{}, wsql.DefaultMySQLOffsetsAdapter{}
	}
	return wsql.DefaultPostgreSQLSchema{}, wsql.DefaultPostgreSQLOffsetsAdapter{}
}

func checkShipped(t *testing.T, seen *shipped, id, corr string) {
	t.Helper()
	waitFor(t, 30*time.Second, "order "+id+" shipped", func() bool { return len(seen.get(id)) > 0 })
	if got := seen.get(id); len(got) != 1 || got[0] != corr {
		t.Fatalf("order %s: second handler saw correlation ids %v, want [%s]", id, got, corr)
	}
}

// metricSum adds up every sample of the named counter in reg.
func metricSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

package forwarder_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	wforwarder "github.com/ThreeDotsLabs/watermill/components/forwarder"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/watermill-outbox/watermill-outbox/forwarder"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// env is one test's database, Kafka topic and outbox.
type env struct {
	t       *testing.T
	db      *testenv.DB
	brokers []string
	kafka   string // destination Kafka topic
	topic   string // base SQL topic
	shards  int
	outbox  *publisher.Outbox
}

func newEnv(t *testing.T, dialect string, shards int, partitions int32) *env {
	t.Helper()
	e := &env{t: t, db: testenv.Open(t, dialect), brokers: testenv.Kafka(t),
		kafka: testenv.Unique("fwd_"), topic: "outbox", shards: shards}
	testenv.CreateTopic(t, e.brokers, e.kafka, partitions)
	topics := publisher.ShardTopics(e.topic, shards)
	if err := publisher.Migrate(ctx(t), e.db.DB, dialect, topics...); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	e.outbox = e.newOutbox(nil)
	return e
}

func (e *env) newOutbox(n publisher.Notifier) *publisher.Outbox {
	o, err := publisher.NewOutbox(publisher.OutboxConfig{Dialect: e.db.Dialect,
		ForwarderTopic: e.topic, Shards: e.shards, Notifier: n}, nil)
	if err != nil {
		e.t.Fatalf("new outbox: %v", err)
	}
	return o
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// config is a forwarder config for the env with fast timings.
func (e *env) config() forwarder.Config {
	return forwarder.Config{
		DB: e.db.DB, Dialect: e.db.Dialect, DSN: e.db.DSN, Topic: e.topic, Shards: e.shards,
		Brokers: e.brokers, BatchSize: 100, PollInterval: 50 * time.Millisecond,
		BackoffInitial: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		MetricsInterval: 50 * time.Millisecond, Registerer: prometheus.NewRegistry(),
	}
}

// start runs a forwarder until the test ends, checking Run's result.
func start(t *testing.T, cfg forwarder.Config) *forwarder.Forwarder {
	t.Helper()
	f, err := forwarder.New(cfg)
	if err != nil {
		t.Fatalf("new forwarder: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Run(context.Background()) }()
	t.Cleanup(func() { stop(t, f, done) })
	return f
}

func stop(t *testing.T, f *forwarder.Forwarder, done chan error) {
	if err := f.Close(); err != nil {
		t.Errorf("close forwarder: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("run did not return after close")
	}
}

// msg is a test message with a partition key and a sequence number.
func msg(key string, seq int) *message.Message {
	m := message.NewMessage(watermill.NewUUID(), []byte(fmt.Sprintf(`{"seq":%d}`, seq)))
	if key != "" {
		m.Metadata.Set(publisher.MetadataPartitionKey, key)
	}
	m.Metadata.Set("seq", fmt.Sprint(seq))
	return m
}

// publish writes msgs through the project's outbox in one committed tx.
func (e *env) publish(o *publisher.Outbox, msgs ...*message.Message) {
	e.t.Helper()
	inTx(e.t, e.db.DB, func(tx *sql.Tx) error { return o.Publish(ctx(e.t), tx, e.kafka, msgs...) })
}

func inTx(t testing.TB, db *sql.DB, fn func(*sql.Tx) error) {
	t.Helper()
	tx, err := db.BeginTx(ctx(t), nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		t.Fatalf("in tx: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

// consume reads topic from the start until want records arrived or the
// timeout passed, returning them in arrival order (which is partition order
// within each partition).
func consume(t testing.TB, brokers []string, topic string, want int,
	timeout time.Duration) []*sarama.ConsumerMessage {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = testenv.KafkaVersion
	c, err := sarama.NewConsumer(brokers, cfg)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer c.Close()
	parts, err := c.Partitions(topic)
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	out := make(chan *sarama.ConsumerMessage, 1024)
	stopc := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range parts {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("consume %s/%d: %v", topic, p, err)
		}
		wg.Go(func() {
			defer pc.Close()
			for {
				select {
				case m := <-pc.Messages():
					select {
					case out <- m:
					case <-stopc:
						return
					}
				case <-stopc:
					return
				}
			}
		})
	}
	defer func() { close(stopc); wg.Wait() }()
	var got []*sarama.ConsumerMessage
	deadline := time.After(timeout)
	for len(got) < want {
		select {
		case m := <-out:
			got = append(got, m)
		case <-deadline:
			return got
		}
	}
	return got
}

// recordCount is the number of records in topic, from the high watermarks.
func recordCount(t testing.TB, brokers []string, topic string) int64 {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = testenv.KafkaVersion
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("partitions: %v", err)
	}
	var n int64
	for _, p := range parts {
		hi, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatalf("offset: %v", err)
		}
		lo, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("offset: %v", err)
		}
		n += hi - lo
	}
	return n
}

// expectUUIDs waits for n records and checks they are exactly sent, each
// once: payload, every metadata entry as a header, and the partition key as
// the record key.
func expectUUIDs(t *testing.T, e *env, sent []*message.Message, n int) {
	t.Helper()
	got := consume(t, e.brokers, e.kafka, n, 30*time.Second)
	if len(got) != n {
		t.Fatalf("got %d records, want %d", len(got), n)
	}
	want := map[string]*message.Message{}
	for _, m := range sent {
		want[m.UUID] = m
	}
	for _, r := range got {
		m, ok := want[header(r, kafka.UUIDHeaderKey)]
		if !ok {
			t.Fatalf("unexpected or duplicate record %q", header(r, kafka.UUIDHeaderKey))
		}
		delete(want, m.UUID)
		if string(r.Value) != string(m.Payload) {
			t.Errorf("record %s: payload %q, want %q", m.UUID, r.Value, m.Payload)
		}
		for k, v := range m.Metadata {
			if header(r, k) != v {
				t.Errorf("record %s: header %s = %q, want %q", m.UUID, k, header(r, k), v)
			}
		}
		if key := m.Metadata.Get(publisher.MetadataPartitionKey); string(r.Key) != key {
			t.Errorf("record %s: key %q, want %q", m.UUID, r.Key, key)
		}
	}
}

func header(m *sarama.ConsumerMessage, key string) string {
	for _, h := range m.Headers {
		if string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

// metric reads a counter or gauge with the topic label from reg.
func metric(t testing.TB, reg prometheus.Registerer, name, topic string) float64 {
	t.Helper()
	families, err := reg.(prometheus.Gatherer).Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "topic" && l.GetValue() == topic {
					if m.GetCounter() != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

// eventually polls cond every 20ms until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var errTest = errors.New("test")

// sqlPublisher is watermill-sql's own publisher on tx, with the default
// schema adapter of the env's dialect: rows exactly as the stock path
// writes them.
func (e *env) sqlPublisher(tx *sql.Tx) message.Publisher {
	var schema wsql.SchemaAdapter = wsql.DefaultMySQLSchema{}
	if e.db.Dialect == forwarder.DialectPostgres {
		schema = wsql.DefaultPostgreSQLSchema{}
	}
	pub, err := wsql.NewPublisher(tx, wsql.PublisherConfig{SchemaAdapter: schema}, nil)
	if err != nil {
		e.t.Fatalf("sql publisher: %v", err)
	}
	return pub
}

// stockPublish writes msgs for kafkaTopic the way Watermill's stock
// forwarder publisher does, in one committed tx, into the first shard.
func (e *env) stockPublish(kafkaTopic string, msgs ...*message.Message) {
	e.t.Helper()
	sqlTopic := publisher.ShardTopics(e.topic, e.shards)[0]
	inTx(e.t, e.db.DB, func(tx *sql.Tx) error {
		pub := wforwarder.NewPublisher(e.sqlPublisher(tx),
			wforwarder.PublisherConfig{ForwarderTopic: sqlTopic})
		return pub.Publish(kafkaTopic, msgs...)
	})
}

// rawPublish writes a row whose payload is not an envelope.
func (e *env) rawPublish(payload string) {
	e.t.Helper()
	sqlTopic := publisher.ShardTopics(e.topic, e.shards)[0]
	inTx(e.t, e.db.DB, func(tx *sql.Tx) error {
		return e.sqlPublisher(tx).Publish(sqlTopic, message.NewMessage(watermill.NewUUID(),
			[]byte(payload)))
	})
}

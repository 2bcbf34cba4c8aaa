package publisher_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

type OrderPlaced struct {
	OrderID string `json:"order_id"`
	Total   int    `json:"total"`
}

func (o OrderPlaced) PartitionKey() string { return o.OrderID }

type PaymentTaken struct{ Amount int }

func (PaymentTaken) EventName() string { return "payments.taken.v1" }

// recorder is a message.Publisher that keeps what it is given, for checking
// the messages EventPublisher builds.
type recorder struct {
	mu     sync.Mutex
	topics []string
	msgs   []*message.Message
	err    error
}

func (r *recorder) Publish(topic string, msgs ...*message.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	for _, m := range msgs {
		r.topics = append(r.topics, topic)
		r.msgs = append(r.msgs, m)
	}
	return nil
}

func (r *recorder) Close() error { return nil }

func newRecorded(
	t *testing.T, cfg publisher.EventPublisherConfig,
) (*publisher.EventPublisher, *recorder) {
	t.Helper()
	rec := &recorder{}
	p, err := publisher.NewEventPublisher(rec, cfg, nil)
	if err != nil {
		t.Fatalf("NewEventPublisher: %v", err)
	}
	return p, rec
}

type ctxKey struct{}

func TestEventPublisherBuildsMessage(t *testing.T) {
	p, rec := newRecorded(t, publisher.EventPublisherConfig{})
	ctx := context.WithValue(context.Background(), ctxKey{}, "request-7")
	ev := OrderPlaced{OrderID: "o-1", Total: 42}
	for range 2 {
		if err := p.Publish(ctx, "orders", ev); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	m := rec.msgs[0]
	if rec.topics[0] != "orders" {
		t.Errorf("topic %q, want orders", rec.topics[0])
	}
	if _, err := uuid.Parse(m.UUID); err != nil || m.UUID == rec.msgs[1].UUID {
		t.Errorf("uuids %q and %q: want two distinct UUIDs", m.UUID, rec.msgs[1].UUID)
	}
	var back OrderPlaced
	if err := json.Unmarshal(m.Payload, &back); err != nil || back != ev {
		t.Errorf("payload %s decodes to %+v (%v), want %+v", m.Payload, back, err, ev)
	}
	want := map[string]string{
		publisher.MetadataEventType:    "OrderPlaced",
		"name":                         "OrderPlaced", // what cqrs event processors dispatch on
		publisher.MetadataPartitionKey: "o-1",
	}
	for k, v := range want {
		if got := m.Metadata.Get(k); got != v {
			t.Errorf("metadata %s = %q, want %q", k, got, v)
		}
	}
	if m.Context().Value(ctxKey{}) != "request-7" {
		t.Error("message does not carry the publish context")
	}
}

func TestEventPublisherEventTypeNames(t *testing.T) {
	cases := []struct {
		event any
		want  string
	}{
		{OrderPlaced{}, "OrderPlaced"},
		{&OrderPlaced{}, "OrderPlaced"},
		{PaymentTaken{}, "payments.taken.v1"},
	}
	for _, c := range cases {
		p, rec := newRecorded(t, publisher.EventPublisherConfig{})
		if err := p.Publish(context.Background(), "t", c.event); err != nil {
			t.Fatalf("publish %T: %v", c.event, err)
		}
		if got := rec.msgs[0].Metadata.Get(publisher.MetadataEventType); got != c.want {
			t.Errorf("%T: event_type %q, want %q", c.event, got, c.want)
		}
	}
}

func TestEventPublisherCorrelationID(t *testing.T) {
	p, rec := newRecorded(t, publisher.EventPublisherConfig{})
	ctx := publisher.WithCorrelationID(context.Background(), "corr-9")
	if got := publisher.CorrelationID(ctx); got != "corr-9" {
		t.Fatalf("CorrelationID(ctx) = %q, want corr-9", got)
	}
	if err := p.Publish(ctx, "t", PaymentTaken{}); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(context.Background(), "t", PaymentTaken{}); err != nil {
		t.Fatal(err)
	}
	if got := rec.msgs[0].Metadata.Get("correlation_id"); got != "corr-9" {
		t.Errorf("correlation id %q, want the one from ctx", got)
	}
	fresh := rec.msgs[1]
	if got := fresh.Metadata.Get(publisher.MetadataCorrelationID); got != fresh.UUID {
		t.Errorf("without ctx id: correlation id %q, want the message's own UUID %q",
			got, fresh.UUID)
	}
	if publisher.CorrelationID(publisher.WithCorrelationID(ctx, "")) != "corr-9" {
		t.Error("WithCorrelationID with an empty id replaced the existing one")
	}
}

func TestEventPublisherOptions(t *testing.T) {
	p, rec := newRecorded(t, publisher.EventPublisherConfig{})
	err := p.Publish(context.Background(), "t", OrderPlaced{OrderID: "o-1"},
		publisher.WithPartitionKey("customer-5"),
		publisher.WithMessageUUID("fixed-id"),
		publisher.WithMetadata("tenant", "acme"),
		publisher.WithMetadata(publisher.MetadataEventType, "spoofed"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(context.Background(), "t", PaymentTaken{}); err != nil {
		t.Fatal(err)
	}
	m := rec.msgs[0]
	if m.UUID != "fixed-id" || m.Metadata.Get("tenant") != "acme" {
		t.Errorf("uuid %q tenant %q: options not applied", m.UUID, m.Metadata.Get("tenant"))
	}
	if got := m.Metadata.Get(publisher.MetadataPartitionKey); got != "customer-5" {
		t.Errorf("partition key %q, want the option to override the event's", got)
	}
	if got := m.Metadata.Get(publisher.MetadataEventType); got != "OrderPlaced" {
		t.Errorf("event_type %q: WithMetadata must not override it", got)
	}
	if _, ok := rec.msgs[1].Metadata[publisher.MetadataPartitionKey]; ok {
		t.Error("an unkeyed event got a partition_key entry")
	}
}

// upperMarshaler is a custom CQRS marshaler: payload is the upper-cased
// JSON, names carry a prefix.
type upperMarshaler struct{ cqrs.JSONMarshaler }

func (m upperMarshaler) Marshal(v any) (*message.Message, error) {
	msg, err := m.JSONMarshaler.Marshal(v)
	if err != nil {
		return nil, err
	}
	msg.Payload = []byte(strings.ToUpper(string(msg.Payload)))
	msg.Metadata.Set("codec", "upper-json")
	return msg, nil
}

func TestEventPublisherCustomMarshaler(t *testing.T) {
	p, rec := newRecorded(t, publisher.EventPublisherConfig{Marshaler: upperMarshaler{}})
	if err := p.Publish(context.Background(), "t", OrderPlaced{OrderID: "o-1"}); err != nil {
		t.Fatal(err)
	}
	m := rec.msgs[0]
	if !strings.Contains(string(m.Payload), `"ORDER_ID":"O-1"`) || m.Metadata.Get("codec") == "" {
		t.Errorf("payload %s, metadata %v: custom marshaler not used", m.Payload, m.Metadata)
	}
	if m.Metadata.Get(publisher.MetadataEventType) != "OrderPlaced" ||
		m.Metadata.Get(publisher.MetadataPartitionKey) != "o-1" {
		t.Errorf("metadata %v: type and key must not depend on the marshaler", m.Metadata)
	}
}

func TestEventPublisherErrors(t *testing.T) {
	p, rec := newRecorded(t, publisher.EventPublisherConfig{})
	err := p.Publish(context.Background(), "orders", struct{ C chan int }{})
	if err == nil || !strings.Contains(err.Error(), `topic "orders"`) ||
		!strings.Contains(err.Error(), "marshal") {
		t.Errorf("unmarshalable event: %v, want a marshal error naming the topic", err)
	}
	if err := p.Publish(context.Background(), "orders", nil); err == nil {
		t.Error("nil event published")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Publish(ctx, "orders", PaymentTaken{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v, want context.Canceled", err)
	}
	boom := errors.New("boom")
	rec.err = boom
	err = p.Publish(context.Background(), "orders", PaymentTaken{})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), `topic "orders"`) {
		t.Errorf("failing publisher: %v, want the cause wrapped with the topic", err)
	}
	if len(rec.msgs) != 0 {
		t.Errorf("%d messages reached the publisher, want none", len(rec.msgs))
	}
	_, err = publisher.NewEventPublisher(nil, publisher.EventPublisherConfig{}, nil)
	if err == nil {
		t.Error("NewEventPublisher accepted a nil publisher")
	}
}

// TestEventPublisherOverKafka checks that type, correlation id and key
// survive a trip through Kafka, and that the key becomes the record key.
func TestEventPublisherOverKafka(t *testing.T) {
	cfg, k := startTestKafka(t)
	topic := testenv.Unique("pub_typed_")
	testenv.CreateTopic(t, cfg.Brokers, topic, 3)
	p, err := publisher.NewEventPublisher(k, publisher.EventPublisherConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := publisher.WithCorrelationID(context.Background(), "corr-k")
	if err := p.Publish(ctx, topic, OrderPlaced{OrderID: "o-77", Total: 3}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	got := kafkaConsume(t, cfg, topic, 1, 20*time.Second)
	for _, recs := range got.byPartition {
		rec := recs[0]
		msg, err := publisher.KafkaMarshaler{}.Unmarshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if string(rec.Key) != "o-77" || msg.Metadata.Get("event_type") != "OrderPlaced" ||
			msg.Metadata.Get("correlation_id") != "corr-k" {
			t.Errorf("record key %q, metadata %v", rec.Key, msg.Metadata)
		}
		var ev OrderPlaced
		if err := (cqrs.JSONMarshaler{}).Unmarshal(msg, &ev); err != nil || ev.Total != 3 {
			t.Errorf("decoded %+v, %v", ev, err)
		}
	}
}

func TestMessageContextContinuesTheChain(t *testing.T) {
	in := message.NewMessage(uuid.NewString(), nil)
	in.Metadata.Set(publisher.MetadataCorrelationID, "chain-1")
	in.SetContext(context.WithValue(context.Background(), ctxKey{}, "v"))
	ctx := publisher.MessageContext(in)
	if publisher.CorrelationID(ctx) != "chain-1" || ctx.Value(ctxKey{}) != "v" {
		t.Errorf("MessageContext: correlation %q, value %v; want chain-1 and the message's ctx",
			publisher.CorrelationID(ctx), ctx.Value(ctxKey{}))
	}
}

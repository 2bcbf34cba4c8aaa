// Command demo publishes a handful of typed order events to an embedded
// Kafka broker through the project's Kafka publisher, reads them back with a
// Watermill Kafka subscriber, checks that each order's events arrived in the
// order they were published, and exits. It needs nothing but Go.
//
// Run it with `make demo` or `go run ./_examples/demo`.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/publisher"
	"github.com/watermill-outbox/watermill-outbox/publisher/kafkatest"
)

const (
	topic      = "orders"
	partitions = 3
	// runTimeout bounds the whole run: the demo never hangs.
	runTimeout = 20 * time.Second
)

// OrderPlaced is published when a customer places an order.
type OrderPlaced struct {
	OrderID string `json:"order_id"`
	Total   int    `json:"total_cents"`
}

// PartitionKey keeps all events of one order on one partition, in order.
func (e OrderPlaced) PartitionKey() string { return e.OrderID }

// OrderShipped is published when an order leaves the warehouse.
type OrderShipped struct {
	OrderID string `json:"order_id"`
	Carrier string `json:"carrier"`
}

// PartitionKey keeps all events of one order on one partition, in order.
func (e OrderShipped) PartitionKey() string { return e.OrderID }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	broker, err := kafkatest.Start(kafkatest.Config{
		Topics: []string{topic}, Partitions: partitions,
	})
	if err != nil {
		return err
	}
	defer broker.Close()
	fmt.Printf("embedded Kafka broker on %v, topic %q with %d partitions\n",
		broker.Addrs(), topic, partitions)

	cfg := config.Default().Kafka
	cfg.Brokers = broker.Addrs()
	cfg.DialTimeout = 5 * time.Second
	sent, err := publishEvents(ctx, cfg)
	if err != nil {
		return err
	}
	return consumeAndCheck(ctx, cfg, sent)
}

func demoEvents() []any {
	return []any{
		OrderPlaced{OrderID: "order-1", Total: 4200},
		OrderPlaced{OrderID: "order-2", Total: 999},
		OrderShipped{OrderID: "order-1", Carrier: "DHL"},
		OrderPlaced{OrderID: "order-3", Total: 15000},
		OrderShipped{OrderID: "order-2", Carrier: "UPS"},
		OrderShipped{OrderID: "order-3", Carrier: "DHL"},
	}
}

// publishEvents sends demoEvents through the typed publisher on Kafka and
// returns, per order, the event types in the order they were sent.
func publishEvents(ctx context.Context, cfg config.Kafka) (map[string][]string, error) {
	kafkaPub, err := publisher.NewKafka(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	defer kafkaPub.Close()
	events, err := publisher.NewEventPublisher(kafkaPub, publisher.EventPublisherConfig{}, nil)
	if err != nil {
		return nil, err
	}
	ctx = publisher.WithCorrelationID(ctx, "demo-checkout-1")
	sent := map[string][]string{}
	for _, ev := range demoEvents() {
		key := ev.(publisher.KeyedEvent).PartitionKey()
		if err := events.Publish(ctx, topic, ev); err != nil {
			return nil, err
		}
		sent[key] = append(sent[key], publisher.EventType(ev))
		fmt.Printf("published %-12s key=%s\n", publisher.EventType(ev), key)
	}
	return sent, nil
}

// consumeAndCheck reads the topic from the oldest offset with a Watermill
// Kafka subscriber until every sent event is back, and checks each order's
// events arrived in publishing order.
func consumeAndCheck(ctx context.Context, cfg config.Kafka, sent map[string][]string) error {
	sc, err := publisher.SaramaConfig(cfg)
	if err != nil {
		return err
	}
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sub, err := kafka.NewSubscriber(kafka.SubscriberConfig{
		Brokers: cfg.Brokers, Unmarshaler: publisher.KafkaMarshaler{}, OverwriteSaramaConfig: sc,
	}, nil)
	if err != nil {
		return fmt.Errorf("subscriber: %w", err)
	}
	defer sub.Close()
	msgs, err := sub.Subscribe(ctx, topic)
	if err != nil {
		return fmt.Errorf("subscribe %q: %w", topic, err)
	}
	got, err := receive(ctx, msgs, countEvents(sent))
	if err != nil {
		return err
	}
	return compare(sent, got)
}

func receive(
	ctx context.Context, msgs <-chan *message.Message, want int,
) (map[string][]string, error) {
	got := map[string][]string{}
	for n := 0; n < want; n++ {
		select {
		case msg := <-msgs:
			key, typ := printReceived(msg)
			got[key] = append(got[key], typ)
			msg.Ack()
		case <-ctx.Done():
			return nil, fmt.Errorf("received %d of %d events: %w", n, want, ctx.Err())
		}
	}
	return got, nil
}

func printReceived(msg *message.Message) (key, typ string) {
	key = msg.Metadata.Get(publisher.MetadataPartitionKey)
	typ = msg.Metadata.Get(publisher.MetadataEventType)
	partition, _ := kafka.MessagePartitionFromCtx(msg.Context())
	var body map[string]any
	if err := (cqrs.JSONMarshaler{}).Unmarshal(msg, &body); err != nil {
		body = map[string]any{"undecodable": err.Error()}
	}
	fmt.Printf("received  %-12s key=%s partition=%d correlation_id=%s payload=%v\n",
		typ, key, partition, msg.Metadata.Get(publisher.MetadataCorrelationID), body)
	return key, typ
}

func countEvents(byKey map[string][]string) int {
	n := 0
	for _, evs := range byKey {
		n += len(evs)
	}
	return n
}

func compare(sent, got map[string][]string) error {
	var errs []error
	for key, want := range sent {
		if fmt.Sprint(got[key]) != fmt.Sprint(want) {
			errs = append(errs, fmt.Errorf("order %s: received %v, sent %v", key, got[key], want))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Printf("ok: %d events for %d orders came back, each order's events in order\n",
		countEvents(got), len(got))
	return nil
}

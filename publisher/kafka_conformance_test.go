package publisher_test

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// TestKafkaConformance runs Watermill's shared Pub/Sub test suite with this
// package's Kafka publisher and KafkaMarshaler, paired with watermill-kafka's
// subscriber (the subscriber side is not this package's; it is here only so
// the suite can read back what the publisher wrote).
func TestKafkaConformance(t *testing.T) {
	cfg := testKafkaConfig(testenv.Kafka(t))
	features := tests.Features{
		ConsumerGroups: true,
		Persistent:     true,
		ForceShort:     true,
	}
	tests.TestPubSub(t, features,
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			return conformancePubSub(t, cfg, "conformance")
		},
		func(t *testing.T, group string) (message.Publisher, message.Subscriber) {
			return conformancePubSub(t, cfg, group)
		})
}

func conformancePubSub(
	t *testing.T, cfg config.Kafka, group string,
) (message.Publisher, message.Subscriber) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub, err := publisher.NewKafka(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("NewKafka: %v", err)
	}
	sc, err := publisher.SaramaConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	sc.Consumer.Group.Rebalance.Timeout = 3 * time.Second
	sub, err := kafka.NewSubscriber(kafka.SubscriberConfig{
		Brokers:                cfg.Brokers,
		Unmarshaler:            publisher.KafkaMarshaler{},
		OverwriteSaramaConfig:  sc,
		ConsumerGroup:          group,
		InitializeTopicDetails: &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1},
	}, nil)
	if err != nil {
		t.Fatalf("subscriber: %v", err)
	}
	return pub, sub
}

package publisher_test

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// consumedTopic is what kafkaConsume read: the records of each partition in
// offset order, and the sum of the partitions' high-water marks.
type consumedTopic struct {
	byPartition map[int32][]*sarama.ConsumerMessage
	total       int
	highWater   int64
}

// kafkaConsume reads topic with a plain sarama consumer, one partition
// consumer per partition from the oldest offset, until want records arrived
// or timeout passed (then the test fails). cfg supplies security settings.
func kafkaConsume(t *testing.T, cfg config.Kafka, topic string, want int,
	timeout time.Duration) consumedTopic {
	t.Helper()
	sc, err := publisher.SaramaConfig(cfg)
	if err != nil {
		t.Fatalf("consumer config: %v", err)
	}
	sc.Consumer.Return.Errors = true
	client, err := sarama.NewClient(cfg.Brokers, sc)
	if err != nil {
		t.Fatalf("consumer client: %v", err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer consumer.Close()
	partitions, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("partitions of %q: %v", topic, err)
	}
	records := make(chan *sarama.ConsumerMessage, 1024)
	done := make(chan struct{})
	for _, p := range partitions {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("consume %q partition %d: %v", topic, p, err)
		}
		defer pc.Close()
		go forwardRecords(pc, records, done)
	}
	defer close(done) // runs first: forwarders stop, then Close drains
	got := consumedTopic{byPartition: map[int32][]*sarama.ConsumerMessage{}}
	deadline := time.After(timeout)
	for got.total < want {
		select {
		case r := <-records:
			got.byPartition[r.Partition] = append(got.byPartition[r.Partition], r)
			got.total++
		case <-deadline:
			t.Fatalf("topic %q: %d of %d records within %s", topic, got.total, want, timeout)
		}
	}
	for _, p := range partitions {
		hw, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatalf("high-water mark of %q/%d: %v", topic, p, err)
		}
		got.highWater += hw
	}
	return got
}

func forwardRecords(pc sarama.PartitionConsumer, out chan<- *sarama.ConsumerMessage,
	done <-chan struct{}) {
	for r := range pc.Messages() {
		select {
		case out <- r:
		case <-done:
			return
		}
	}
}

// testKafkaConfig is the project's default Kafka config pointed at brokers,
// with a short dial timeout so failures show quickly.
func testKafkaConfig(brokers []string) config.Kafka {
	cfg := config.Default().Kafka
	cfg.Brokers = brokers
	cfg.DialTimeout = 5 * time.Second
	return cfg
}

// startTestKafka returns brokers from testenv and a publisher on them,
// closed when the test ends.
func startTestKafka(t *testing.T) (config.Kafka, *publisher.Kafka) {
	t.Helper()
	cfg := testKafkaConfig(testenv.Kafka(t))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	k, err := publisher.NewKafka(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("NewKafka: %v", err)
	}
	t.Cleanup(func() {
		if err := k.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return cfg, k
}

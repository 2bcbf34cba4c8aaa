package integration

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// saramaConfig is the client configuration of every helper here.
func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = testenv.KafkaVersion
	cfg.ClientID = "integration"
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Metadata.Retry.Max = 2
	cfg.Metadata.Retry.Backoff = 250 * time.Millisecond
	return cfg
}

// separateBrokers returns the cluster in KAFKA_BROKERS, or else the address
// of an embedded broker started in a process of its own (in memory).
func separateBrokers(t testing.TB) []string {
	t.Helper()
	if testenv.RealKafka() {
		return strings.Split(os.Getenv("KAFKA_BROKERS"), ",")
	}
	_, addr := brokerProcess(t, 0, "")
	return []string{addr}
}

// newTopic creates a uniquely named topic with one partition.
func newTopic(t testing.TB, brokers []string) string {
	t.Helper()
	topic := testenv.Unique("it_")
	testenv.CreateTopic(t, brokers, topic, 1)
	return topic
}

// topicEnd sums the high watermarks of the topic's partitions: the number
// of records the brokers confirmed, duplicates included.
func topicEnd(client sarama.Client, topic string) (int64, error) {
	parts, err := client.Partitions(topic)
	if err != nil {
		return 0, fmt.Errorf("partitions of %q: %w", topic, err)
	}
	var sum int64
	for _, p := range parts {
		off, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return 0, fmt.Errorf("offset of %q/%d: %w", topic, p, err)
		}
		sum += off
	}
	return sum, nil
}

// waitForRecords polls the topic every 10 ms until it holds at least n
// records or wait passes, and returns how long it took.
func waitForRecords(ctx context.Context, brokers []string, topic string, n int64,
	wait time.Duration) (time.Duration, error) {
	client, err := sarama.NewClient(brokers, saramaConfig())
	if err != nil {
		return 0, fmt.Errorf("kafka client: %w", err)
	}
	defer client.Close()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var got int64
	for {
		got, err = topicEnd(client, topic)
		if err == nil && got >= n {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("topic %q: %d of %d records after %s (last error: %v)",
				topic, got, n, time.Since(start).Round(time.Millisecond), err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// record is one Kafka record as the tests see it.
type record struct {
	UUID      string
	Payload   string
	Partition int32
	Offset    int64
}

// readTopic reads every record of the topic up to the high watermarks it
// has when called, within wait.
func readTopic(t testing.TB, brokers []string, topic string, wait time.Duration) []record {
	t.Helper()
	client, err := sarama.NewClient(brokers, saramaConfig())
	if err != nil {
		t.Fatalf("kafka client: %v", err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatalf("kafka consumer: %v", err)
	}
	defer consumer.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("partitions of %q: %v", topic, err)
	}
	deadline := time.After(wait)
	var out []record
	for _, p := range parts {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatalf("offset of %q/%d: %v", topic, p, err)
		}
		out = append(out, readPartition(t, consumer, topic, p, end, deadline)...)
	}
	return out
}

// readPartition reads one partition from its start up to offset end.
func readPartition(t testing.TB, c sarama.Consumer, topic string, p int32, end int64,
	deadline <-chan time.Time) []record {
	t.Helper()
	if end == 0 {
		return nil
	}
	pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
	if err != nil {
		t.Fatalf("consume %q/%d: %v", topic, p, err)
	}
	defer pc.Close()
	var out []record
	for {
		select {
		case m := <-pc.Messages():
			out = append(out, toRecord(m))
			if m.Offset >= end-1 {
				return out
			}
		case err := <-pc.Errors():
			t.Fatalf("consume %q/%d: %v", topic, p, err)
		case <-deadline:
			t.Fatalf("consume %q/%d: %d records read before the deadline, want up to offset %d",
				topic, p, len(out), end)
		}
	}
}

func toRecord(m *sarama.ConsumerMessage) record {
	r := record{Payload: string(m.Value), Partition: m.Partition, Offset: m.Offset}
	for _, h := range m.Headers {
		if string(h.Key) == kafka.UUIDHeaderKey {
			r.UUID = string(h.Value)
		}
	}
	return r
}

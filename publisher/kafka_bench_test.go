package publisher_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// benchMessages is how many messages each variant sends per iteration, in
// benchRounds interleaved rounds so that warm-up and drift hit all alike.
const (
	benchMessages = 2000
	benchRounds   = 4
)

// BenchmarkKafkaPublishOverhead sends the same messages three ways in one
// run, one at a time from one goroutine: a bare sarama SyncProducer with the
// same settings (the baseline), the Kafka publisher, and EventPublisher on
// top of it. It reports each as a ratio of the baseline's time, so the
// figures compare within one machine and one broker.
func BenchmarkKafkaPublishOverhead(b *testing.B) {
	cfg := testKafkaConfig(testenv.Kafka(b))
	topic := testenv.Unique("pub_bench_")
	testenv.CreateTopic(b, cfg.Brokers, topic, 3)
	sc, err := publisher.SaramaConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := sarama.NewSyncProducer(cfg.Brokers, sc)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	k, err := publisher.NewKafka(context.Background(), cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	events, err := publisher.NewEventPublisher(k, publisher.EventPublisherConfig{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var base, plain, typed time.Duration
	b.ResetTimer()
	for range b.N * benchRounds {
		base += timeIt(b, func(i int) error { return sendRaw(raw, topic, i) })
		plain += timeIt(b, func(i int) error { return sendPlain(k, topic, i) })
		typed += timeIt(b, func(i int) error {
			ev := OrderPlaced{OrderID: fmt.Sprintf("o-%d", i%50), Total: i}
			return events.Publish(context.Background(), topic, ev)
		})
	}
	b.ReportMetric(float64(plain)/float64(base), "kafka/raw")
	b.ReportMetric(float64(typed)/float64(base), "typed/raw")
	b.ReportMetric(float64(base.Microseconds())/float64(b.N*benchMessages), "raw-us/msg")
}

func timeIt(b *testing.B, send func(i int) error) time.Duration {
	start := time.Now()
	for i := range benchMessages / benchRounds {
		if err := send(i); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

func sendRaw(p sarama.SyncProducer, topic string, i int) error {
	_, _, err := p.SendMessage(&sarama.ProducerMessage{
		Topic: topic,
		Key:   sarama.StringEncoder(fmt.Sprintf("o-%d", i%50)),
		Value: sarama.ByteEncoder(fmt.Sprintf(`{"order_id":"o-%d","total":%d}`, i%50, i)),
		Headers: []sarama.RecordHeader{
			{Key: []byte("_watermill_message_uuid"), Value: []byte(uuid.NewString())},
		},
	})
	return err
}

func sendPlain(k *publisher.Kafka, topic string, i int) error {
	msg := message.NewMessage(uuid.NewString(),
		fmt.Appendf(nil, `{"order_id":"o-%d","total":%d}`, i%50, i))
	msg.Metadata.Set(publisher.MetadataPartitionKey, fmt.Sprintf("o-%d", i%50))
	return k.Publish(topic, msg)
}

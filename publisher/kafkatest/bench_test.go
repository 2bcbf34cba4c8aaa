package kafkatest_test

import (
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/watermill-outbox/watermill-outbox/publisher/kafkatest"
)

// benchRecords is how many records each side of the benchmark sends.
const benchRecords = 500

// BenchmarkDataDirProduce measures what persisting to a data directory
// costs a synchronous producer, with an fsync per batch (the default) and
// without (NoSync), each as the ratio of its time to that of the same sends
// to an in-memory broker, all run in this benchmark.
func BenchmarkDataDirProduce(b *testing.B) {
	var memory, synced, unsynced time.Duration
	topics := []string{"bench"}
	for range b.N {
		memory += timeSends(b, kafkatest.Config{Topics: topics})
		synced += timeSends(b, kafkatest.Config{Topics: topics, DataDir: b.TempDir()})
		unsynced += timeSends(b, kafkatest.Config{Topics: topics, DataDir: b.TempDir(),
			NoSync: true})
	}
	b.ReportMetric(float64(synced)/float64(memory), "fsync/memory")
	b.ReportMetric(float64(unsynced)/float64(memory), "nosync/memory")
	b.ReportMetric(float64(memory.Microseconds())/float64(b.N*benchRecords), "µs/send-memory")
}

// timeSends starts a broker from cfg and times benchRecords synchronous
// sends to its "bench" topic.
func timeSends(b *testing.B, cfg kafkatest.Config) time.Duration {
	b.Helper()
	broker, err := kafkatest.Start(cfg)
	if err != nil {
		b.Fatalf("start: %v", err)
	}
	defer broker.Close()
	p, err := sarama.NewSyncProducer(broker.Addrs(), clientConfig())
	if err != nil {
		b.Fatalf("producer: %v", err)
	}
	defer p.Close()
	msg := func() *sarama.ProducerMessage {
		return &sarama.ProducerMessage{Topic: "bench", Value: sarama.StringEncoder("payload")}
	}
	if _, _, err := p.SendMessage(msg()); err != nil { // warm up the connection
		b.Fatalf("send: %v", err)
	}
	start := time.Now()
	for range benchRecords {
		if _, _, err := p.SendMessage(msg()); err != nil {
			b.Fatalf("send: %v", err)
		}
	}
	return time.Since(start)
}

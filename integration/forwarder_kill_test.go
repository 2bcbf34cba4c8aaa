package integration

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// TestForwarderKilledMidDrain runs our forwarder in a child process, kills
// it with SIGKILL as soon as the first records reach Kafka, and starts it
// again: every committed message must be in Kafka at least once, and every
// duplicate must carry the same UUID and payload.
func TestForwarderKilledMidDrain(t *testing.T) {
	for _, dialect := range testenv.Dialects {
		t.Run(dialect, func(t *testing.T) { testForwarderKilled(t, implBatch, dialect) })
	}
}

func testForwarderKilled(t *testing.T, impl, dialect string) {
	brokers := testenv.Kafka(t)
	topic := newTopic(t, brokers)
	db := testenv.Open(t, dialect)
	migrateOutbox(t, db.DB, dialect)
	sent := fillOutbox(t, db.DB, dialect, topic, 5000)
	spec := forwarderSpec{
		Impl: impl, Dialect: dialect, DSN: db.DSN, Brokers: brokers, BatchSize: 100,
	}
	first := forwarderProcess(t, spec)
	ctx := context.Background()
	if _, err := waitForRecords(ctx, brokers, topic, 1, 30*time.Second); err != nil {
		t.Fatalf("first records: %v", err)
	}
	first.signal(t, syscall.SIGKILL)
	atKill := countRecords(t, brokers, topic)
	second := forwarderProcess(t, spec)
	recs := waitForAll(t, brokers, topic, sent, 90*time.Second)
	second.signal(t, syscall.SIGTERM)
	if !second.cmd.ProcessState.Success() {
		t.Errorf("restarted forwarder did not stop cleanly on SIGTERM: %v", second.cmd.ProcessState)
	}
	dups := checkRecords(t, recs, sent)
	t.Logf("%d of %d records in kafka when killed; %d records in the end, %d duplicates",
		atKill, len(sent), len(recs), dups)
}

// countRecords returns how many records the topic holds now.
func countRecords(t testing.TB, brokers []string, topic string) int64 {
	t.Helper()
	client, err := sarama.NewClient(brokers, saramaConfig())
	if err != nil {
		t.Fatalf("kafka client: %v", err)
	}
	defer client.Close()
	n, err := topicEnd(client, topic)
	if err != nil {
		t.Fatalf("count records: %v", err)
	}
	return n
}

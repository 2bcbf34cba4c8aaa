package forwarder_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/forwarder"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// TestDeadLetters puts a message larger than the producer accepts, a row
// that is no envelope and an envelope with an invalid Kafka topic between
// two good messages: the three are dead-lettered with their reason and the
// good ones arrive.
func TestDeadLetters(t *testing.T) {
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) { testDeadLetters(t, d) })
	}
}

func testDeadLetters(t *testing.T, dialect string) {
	e := newEnv(t, dialect, 1, 1)
	dlq := testenv.Unique("dlq_")
	testenv.CreateTopic(t, e.brokers, dlq, 1)
	e.publish(e.outbox, msg("k", 1))
	big := message.NewMessage(watermill.NewUUID(), []byte(`"`+strings.Repeat("x", 20000)+`"`))
	e.publish(e.outbox, big)
	e.rawPublish(`{"not":"an envelope"}`)
	e.stockPublish("bad topic!", msg("k", 3))
	e.publish(e.outbox, msg("k", 5))

	cfg := e.config()
	cfg.Kafka = forwarder.DefaultSaramaConfig()
	cfg.Kafka.Producer.MaxMessageBytes = 10000
	cfg.DeadLetterTopic = dlq
	start(t, cfg)
	got := consume(t, e.brokers, e.kafka, 2, 20*time.Second)
	if len(got) != 2 || header(got[0], "seq") != "1" || header(got[1], "seq") != "5" {
		t.Fatalf("got %d records, want seq 1 and 5", len(got))
	}
	eventually(t, 10*time.Second, "3 dead letters counted", func() bool {
		return metric(t, cfg.Registerer, "outbox_forwarder_dead_lettered_total", "outbox") == 3
	})
	reasons := deadLetterReasons(t, e)
	for _, want := range []string{"larger than", "destination topic", "bad topic!"} {
		if !containsAny(reasons, want) {
			t.Errorf("no dead letter reason mentions %q: %q", want, reasons)
		}
	}
	// The big one is too large for the dead-letter topic too: only the
	// table keeps it.
	if dl := consume(t, e.brokers, dlq, 2, 10*time.Second); len(dl) != 2 {
		t.Errorf("dead-letter topic has %d records, want 2", len(dl))
	}
	st, err := forwarder.Status(ctx(t), e.db.DB, dialect, e.topic, 1, "outbox-forwarder")
	if err != nil || len(st) != 1 || st[0].DeadLetters != 3 || st[0].Backlog != 0 {
		t.Errorf("status = %+v, %v; want 3 dead letters and no backlog", st, err)
	}
}

func deadLetterReasons(t *testing.T, e *env) []string {
	rows, err := e.db.DB.QueryContext(ctx(t), "SELECT reason FROM "+forwarder.DeadLetterTable+
		" ORDER BY original_offset")
	if err != nil {
		t.Fatalf("read dead letters: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if len(out) != 3 {
		t.Fatalf("dead letters %q, want 3", out)
	}
	return out
}

func containsAny(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

package forwarder_test

import (
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

func TestForwardsExactlyTheCommittedMessages(t *testing.T) {
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) { testForwardsCommitted(t, d) })
	}
}

func testForwardsCommitted(t *testing.T, dialect string) {
	e := newEnv(t, dialect, 1, 3)
	sent := []*message.Message{msg("k1", 1), msg("k2", 2), msg("", 3)}
	sent[0].Metadata.Set("tenant", "acme")
	e.publish(e.outbox, sent...)
	tx, err := e.db.DB.BeginTx(ctx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.outbox.Publish(ctx(t), tx, e.kafka, msg("k1", 99)); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback()
	cfg := e.config()
	f := start(t, cfg)
	expectUUIDs(t, e, sent, len(sent))
	eventually(t, 10*time.Second, "backlog gauge at 0 and forwarded at 3", func() bool {
		return metric(t, cfg.Registerer, "outbox_forwarder_forwarded_total", "outbox") == 3 &&
			metric(t, cfg.Registerer, "outbox_forwarder_backlog", "outbox") == 0
	})
	if n := recordCount(t, e.brokers, e.kafka); n != 3 {
		t.Errorf("topic holds %d records, want 3 (the rolled-back one must not be sent)", n)
	}
	if err := f.Healthy(); err != nil {
		t.Errorf("healthy: %v", err)
	}
}

package forwarder_test

import (
	"database/sql"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// TestPerKeyOrderWithTwoForwarders publishes 10,000 messages over 50 keys
// into a 4-shard outbox while two forwarders drain it, and checks that every
// message arrives and that, per key, first deliveries come in commit order.
func TestPerKeyOrderWithTwoForwarders(t *testing.T) {
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) { testPerKeyOrder(t, d) })
	}
}

func testPerKeyOrder(t *testing.T, dialect string) {
	const total, keys, perTx = 10000, 50, 100
	e := newEnv(t, dialect, 4, 4)
	cfg := e.config()
	cfg.BatchSize = 250
	start(t, cfg)
	cfg2 := cfg
	cfg2.Registerer = nil
	start(t, cfg2)
	for tx := 0; tx < total/perTx; tx++ {
		msgs := make([]*message.Message, perTx)
		for i := range msgs {
			n := tx*perTx + i
			msgs[i] = msg(fmt.Sprintf("key-%d", n%keys), n)
		}
		inTx(t, e.db.DB, func(tx *sql.Tx) error {
			return e.outbox.Publish(ctx(t), tx, e.kafka, msgs...)
		})
	}
	got := consume(t, e.brokers, e.kafka, total, 90*time.Second)
	seen := map[string]bool{}
	last := map[string]int{}
	for _, r := range got {
		id := header(r, kafka.UUIDHeaderKey)
		if seen[id] {
			continue // a duplicate: allowed, at least once
		}
		seen[id] = true
		key := header(r, publisher.MetadataPartitionKey)
		if string(r.Key) != key {
			t.Fatalf("record key %q, partition_key header %q", r.Key, key)
		}
		seq, err := strconv.Atoi(header(r, "seq"))
		if err != nil {
			t.Fatalf("seq header: %v", err)
		}
		if prev, ok := last[key]; ok && seq <= prev {
			t.Fatalf("key %s: seq %d arrived after %d", key, seq, prev)
		}
		last[key] = seq
	}
	if len(seen) != total {
		t.Fatalf("%d distinct messages arrived, want %d", len(seen), total)
	}
	t.Logf("%d records for %d messages", len(got), total)
}

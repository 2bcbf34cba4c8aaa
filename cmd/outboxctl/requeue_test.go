package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// TestRequeueCommandSendsSelectedIDsBack runs `outboxctl requeue` against
// Kafka: the selected poisoned message goes back to its original topic
// without the poison metadata, the other one stays, and an --id that is not
// in the poison topic makes the command fail after reporting what it did.
func TestRequeueCommandSendsSelectedIDsBack(t *testing.T) {
	brokers := testenv.Kafka(t)
	poisonTopic, orders := testenv.Unique("poison_"), testenv.Unique("orders_")
	testenv.CreateTopic(t, brokers, poisonTopic, 1)
	testenv.CreateTopic(t, brokers, orders, 1)
	kcfg := config.Default().Kafka
	kcfg.Brokers = brokers
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pub, err := publisher.NewKafka(ctx, kcfg, nil)
	if err != nil {
		t.Fatalf("kafka publisher: %v", err)
	}
	defer pub.Close()
	var ids []string
	for range 2 {
		m := message.NewMessage(watermill.NewUUID(), []byte("order"))
		m.Metadata.Set(inbox.MetadataPoisonTopic, orders)
		m.Metadata.Set(inbox.MetadataPoisonError, "bug")
		m.Metadata.Set("trace", "kept")
		if err := pub.Publish(poisonTopic, m); err != nil {
			t.Fatalf("publish poison: %v", err)
		}
		ids = append(ids, m.UUID)
	}

	out, err := runOutboxctl(t, "requeue", "--brokers", strings.Join(brokers, ","),
		"--poison-topic", poisonTopic, "--id", ids[0], "--id", "nope", "--idle", "3s")
	if err == nil || !strings.Contains(out, `not found in "`+poisonTopic+`": nope`) {
		t.Fatalf("requeue with a missing id: err %v, output:\n%s", err, out)
	}
	if !strings.Contains(out, "requeued 1 message(s)") || !strings.Contains(out, ids[0]) {
		t.Fatalf("output does not report the requeued message %s:\n%s", ids[0], out)
	}

	sub, err := newPoisonSubscriber(kcfg, nil)
	if err != nil {
		t.Fatalf("subscriber: %v", err)
	}
	defer sub.Close()
	ch, err := sub.Subscribe(ctx, orders)
	if err != nil {
		t.Fatalf("subscribe %s: %v", orders, err)
	}
	select {
	case m := <-ch:
		m.Ack()
		if m.UUID != ids[0] || m.Metadata.Get("trace") != "kept" ||
			m.Metadata.Get(inbox.MetadataPoisonError) != "" ||
			m.Metadata.Get(inbox.MetadataPoisonTopic) != "" {
			t.Fatalf("requeued message: uuid %s (want %s), metadata %v", m.UUID, ids[0], m.Metadata)
		}
	case <-ctx.Done():
		t.Fatalf("nothing arrived on %s: %v", orders, ctx.Err())
	}
	select {
	case m := <-ch:
		t.Fatalf("unselected message %s was requeued too", m.UUID)
	case <-time.After(2 * time.Second):
	}
}

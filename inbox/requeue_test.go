package inbox_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// TestRequeueAppliesAPoisonedMessageAfterTheFix poisons a message through a
// router, "deploys a fix", requeues the poison topic and checks that the
// message is applied once, back on its original topic.
func TestRequeueAppliesAPoisonedMessageAfterTheFix(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		var fixed atomic.Bool
		handle := func(msg *message.Message) error {
			if !fixed.Load() {
				return inbox.Permanent(errors.New("bug in handler"))
			}
			return e.write(msg, "after fix")
		}
		in := gochannel.NewGoChannel(gochannel.Config{}, watermill.NopLogger{})
		defer in.Close()
		c := e.config()
		r := runRouter(t, in, "orders", e.inbox(c).Middleware, handle)
		defer r.Close()

		msg := newMsg("needs a fix")
		if err := in.Publish("orders", msg); err != nil {
			t.Fatalf("publish: %v", err)
		}
		waitFor(t, 10*time.Second, func() bool { return e.metric("poisoned_total") == 1 })
		fixed.Store(true)

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := inbox.Requeue(ctx, e.poison, in, c.PoisonTopic, nil, 300*time.Millisecond)
		if err != nil || !slices.Equal(res.Requeued, []string{msg.UUID}) {
			t.Fatalf("Requeue = %+v, %v; want %s requeued", res, err, msg.UUID)
		}
		waitFor(t, 10*time.Second, func() bool { return e.effects(msg.UUID) == 1 })
	})
}

func kafkaSaramaConfig() *sarama.Config {
	cfg := kafka.DefaultSaramaSubscriberConfig()
	cfg.Version = testenv.KafkaVersion
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Producer.Return.Successes = true
	return cfg
}

func kafkaPubSub(t *testing.T, brokers []string) (*kafka.Publisher, *kafka.Subscriber) {
	t.Helper()
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{Brokers: brokers,
		Marshaler: kafka.DefaultMarshaler{}, OverwriteSaramaConfig: kafkaSaramaConfig()},
		watermill.NopLogger{})
	if err != nil {
		t.Fatalf("kafka publisher: %v", err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	sub, err := kafka.NewSubscriber(kafka.SubscriberConfig{Brokers: brokers,
		Unmarshaler: kafka.DefaultMarshaler{}, OverwriteSaramaConfig: kafkaSaramaConfig()},
		watermill.NopLogger{})
	if err != nil {
		t.Fatalf("kafka subscriber: %v", err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return pub, sub
}

// TestRequeueFromKafkaSelectedIDs reads a Kafka poison topic with a
// subscriber without consumer group, as outboxctl requeue does, and sends
// only the selected messages back to their original topic.
func TestRequeueFromKafkaSelectedIDs(t *testing.T) {
	t.Parallel()
	brokers := testenv.Kafka(t)
	poisonTopic, orders := testenv.Unique("poison_"), testenv.Unique("orders_")
	testenv.CreateTopic(t, brokers, poisonTopic, 1)
	testenv.CreateTopic(t, brokers, orders, 1)
	pub, sub := kafkaPubSub(t, brokers)

	var ids []string
	for i := range 3 {
		m := newMsg(`{"n":` + string(rune('0'+i)) + `}`)
		m.Metadata.Set(inbox.MetadataPoisonTopic, orders)
		m.Metadata.Set(inbox.MetadataPoisonError, "bug")
		m.Metadata.Set(inbox.MetadataPoisonAttempts, "5")
		m.Metadata.Set("trace", "kept")
		if err := pub.Publish(poisonTopic, m); err != nil {
			t.Fatalf("publish poison: %v", err)
		}
		ids = append(ids, m.UUID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	want := []string{ids[0], ids[2]}
	res, err := inbox.Requeue(ctx, sub, pub, poisonTopic, []string{ids[0], ids[2], "nope"},
		3*time.Second)
	if err != nil {
		t.Fatalf("Requeue: %v", err)
	}
	if !slices.Equal(res.Requeued, want) || !slices.Equal(res.Missing, []string{"nope"}) ||
		res.Skipped != 1 {
		t.Fatalf("Requeue = %+v; want requeued %v, missing [nope], skipped 1", res, want)
	}
	got := readTopic(ctx, t, sub, orders, 2)
	for i, m := range got {
		if m.UUID != want[i] || m.Metadata.Get("trace") != "kept" ||
			m.Metadata.Get(inbox.MetadataPoisonError) != "" ||
			m.Metadata.Get(inbox.MetadataPoisonTopic) != "" {
			t.Errorf("requeued message %d: uuid %s metadata %v", i, m.UUID, m.Metadata)
		}
	}
}

func readTopic(ctx context.Context, t *testing.T, sub message.Subscriber, topic string,
	n int) []*message.Message {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := sub.Subscribe(ctx, topic)
	if err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	var got []*message.Message
	for len(got) < n {
		select {
		case m := <-ch:
			m.Ack()
			got = append(got, m)
		case <-ctx.Done():
			t.Fatalf("read %d of %d messages from %s: %v", len(got), n, topic, ctx.Err())
		}
	}
	return got
}

package router_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/router"
)

func kafkaBackend(t *testing.T, brokers []string, group string) *router.Backend {
	t.Helper()
	c := config.Default()
	c.Router.Backend, c.Router.ConsumerGroup = "kafka", group
	c.Kafka.Brokers = brokers
	b, err := router.NewBackend(context.Background(), router.BackendConfig{Config: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// TestKafkaDefaultsLoseNothing checks the Kafka subscriber defaults: a
// message published before the consumer group exists is read (oldest
// offset); one that keeps failing is tried MaxAttempts times and poisoned;
// and the offsets of handled and poisoned messages are committed (read
// back from the cluster), so a second router of the same group receives
// neither again but does receive what was published after.
func TestKafkaDefaultsLoseNothing(t *testing.T) {
	brokers := testenv.Kafka(t)
	db := testenv.Postgres(t)
	group := testenv.Unique("group_")
	topic, poison := testenv.Unique("k_"), testenv.Unique("kpoison_")
	testenv.CreateTopic(t, brokers, topic, 1)
	testenv.CreateTopic(t, brokers, poison, 1)
	b := kafkaBackend(t, brokers, group)
	good, bad := newMsg(`"good"`), newMsg(`"bad"`)
	publish(t, b.Publisher, topic, good, bad)

	c := baseConfig(b, db)
	c.Router.ConsumerGroup, c.Inbox.PoisonTopic = group, poison
	var calls1 atomic.Int32
	r1 := newRouter(t, c)
	add(t, r1, topic, func(msg *message.Message) error {
		calls1.Add(1)
		if msg.UUID == bad.UUID {
			return errors.New("always fails")
		}
		return nil
	})
	run(t, r1)
	got := collect(t, b.Subscriber, poison, 1, 60*time.Second)
	if got[0].UUID != bad.UUID || got[0].Metadata.Get(inbox.MetadataPoisonAttempts) != "3" {
		t.Fatalf("poisoned %s after %s attempts, want %s after 3", got[0].UUID,
			got[0].Metadata.Get(inbox.MetadataPoisonAttempts), bad.UUID)
	}
	waitFor(t, 30*time.Second, "good handled", func() bool { return calls1.Load() == 4 })
	waitFor(t, 30*time.Second, "offsets committed", func() bool {
		return committedOffset(t, brokers, group, topic) == 2
	})
	_ = r1.Close()

	c.Backend = kafkaBackend(t, brokers, group)
	later := newMsg(`"later"`)
	publish(t, c.Backend.Publisher, topic, later)
	seen := make(chan string, 10)
	c.Middleware.DisableInbox = true // the inbox would hide a redelivery
	r2 := newRouter(t, c)
	add(t, r2, topic, func(msg *message.Message) error { seen <- msg.UUID; return nil })
	run(t, r2)
	select {
	case id := <-seen:
		if id != later.UUID {
			t.Fatalf("second router got %s again; want only the later message", id)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("second router got nothing within 60s")
	}
}

func add(t *testing.T, r *router.Router, topic string, h message.NoPublishHandlerFunc) {
	t.Helper()
	if err := r.AddHandler("h", topic, h); err != nil {
		t.Fatal(err)
	}
}

// committedOffset reads the group's committed offset of partition 0.
func committedOffset(t *testing.T, brokers []string, group, topic string) int64 {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = testenv.KafkaVersion
	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	if err != nil {
		t.Fatalf("kafka admin: %v", err)
	}
	defer admin.Close()
	res, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {0}})
	if err != nil {
		t.Fatalf("list offsets of %q: %v", group, err)
	}
	if b := res.GetBlock(topic, 0); b != nil {
		return b.Offset
	}
	return -1
}

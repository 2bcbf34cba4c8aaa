package publisher_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

func TestKafkaRoundTripKeepsUUIDMetadataAndPayload(t *testing.T) {
	cfg, k := startTestKafka(t)
	topic := testenv.Unique("pub_roundtrip_")
	testenv.CreateTopic(t, cfg.Brokers, topic, 1)

	id := uuid.NewString()
	msg := message.NewMessage(id, []byte(`{"order":"o-1"}`))
	msg.Metadata.Set("tenant", "acme")
	msg.Metadata.Set(publisher.MetadataCorrelationID, "corr-1")
	msg.Metadata.Set(publisher.MetadataPartitionKey, "o-1")
	if err := k.Publish(topic, msg); err != nil {
		t.Fatalf("publish: %v", err)
	}

	got := kafkaConsume(t, cfg, topic, 1, 20*time.Second)
	rec := got.byPartition[0][0]
	if string(rec.Key) != "o-1" {
		t.Errorf("record key = %q, want the partition key o-1", rec.Key)
	}
	back, err := publisher.KafkaMarshaler{}.Unmarshal(rec)
	if err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if back.UUID != id || string(back.Payload) != `{"order":"o-1"}` {
		t.Errorf("got uuid %q payload %q, want %q and the sent payload",
			back.UUID, back.Payload, id)
	}
	for k, v := range msg.Metadata {
		if back.Metadata.Get(k) != v {
			t.Errorf("metadata %q = %q, want %q", k, back.Metadata.Get(k), v)
		}
	}
	if len(back.Metadata) != len(msg.Metadata) {
		t.Errorf("metadata = %v, want exactly %v", back.Metadata, msg.Metadata)
	}
}

func TestKafkaUnkeyedMessageHasNilKey(t *testing.T) {
	cfg, k := startTestKafka(t)
	topic := testenv.Unique("pub_nokey_")
	testenv.CreateTopic(t, cfg.Brokers, topic, 1)
	if err := k.Publish(topic, message.NewMessage(uuid.NewString(), []byte("x"))); err != nil {
		t.Fatalf("publish: %v", err)
	}
	rec := kafkaConsume(t, cfg, topic, 1, 20*time.Second).byPartition[0][0]
	if rec.Key != nil {
		t.Errorf("record key = %q, want nil so unkeyed messages spread over partitions", rec.Key)
	}
}

// TestKafkaPerKeyOrder publishes 10,000 messages over 50 keys from 50
// goroutines (one per key, so each key's sends are sequential) to a
// 3-partition topic, and checks that each key stays on one partition, that
// its sequence numbers arrive in order, and that every message arrives once.
func TestKafkaPerKeyOrder(t *testing.T) {
	const keys, perKey = 50, 200
	cfg, k := startTestKafka(t)
	topic := testenv.Unique("pub_order_")
	testenv.CreateTopic(t, cfg.Brokers, topic, 3)

	var wg sync.WaitGroup
	errs := make(chan error, keys)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- publishSequence(k, topic, fmt.Sprintf("key-%02d", i), perKey)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	got := kafkaConsume(t, cfg, topic, keys*perKey, 60*time.Second)
	if got.highWater != keys*perKey {
		t.Errorf("topic holds %d records, want exactly %d", got.highWater, keys*perKey)
	}
	checkPerKeyOrder(t, got, keys, perKey)
}

func publishSequence(k *publisher.Kafka, topic, key string, n int) error {
	for seq := range n {
		msg := message.NewMessage(uuid.NewString(), []byte(key))
		msg.Metadata.Set(publisher.MetadataPartitionKey, key)
		msg.Metadata.Set("seq", strconv.Itoa(seq))
		if err := k.Publish(topic, msg); err != nil {
			return fmt.Errorf("key %s seq %d: %w", key, seq, err)
		}
	}
	return nil
}

func checkPerKeyOrder(t *testing.T, got consumedTopic, keys, perKey int) {
	t.Helper()
	next := map[string]int{}
	partitionOf := map[string]int32{}
	for p, recs := range got.byPartition {
		for _, rec := range recs {
			msg, err := publisher.KafkaMarshaler{}.Unmarshal(rec)
			if err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			key := msg.Metadata.Get(publisher.MetadataPartitionKey)
			if q, ok := partitionOf[key]; ok && q != p {
				t.Fatalf("key %s on partitions %d and %d", key, q, p)
			}
			partitionOf[key] = p
			seq, _ := strconv.Atoi(msg.Metadata.Get("seq"))
			if seq != next[key] {
				t.Fatalf("key %s: got seq %d, want %d (out of order or duplicated)",
					key, seq, next[key])
			}
			next[key]++
		}
	}
	if len(next) != keys {
		t.Errorf("got %d keys, want %d", len(next), keys)
	}
	for key, n := range next {
		if n != perKey {
			t.Errorf("key %s: %d messages, want %d", key, n, perKey)
		}
	}
	if len(got.byPartition) < 2 {
		t.Errorf("all keys on %d partition(s); the hash partitioner should spread 50 keys",
			len(got.byPartition))
	}
}

func TestNewKafkaUnreachableBrokerFailsFast(t *testing.T) {
	addr := closedPort(t)
	cfg := testKafkaConfig([]string{addr})
	cfg.DialTimeout = 3 * time.Second
	start := time.Now()
	k, err := publisher.NewKafka(context.Background(), cfg, nil)
	elapsed := time.Since(start)
	if err == nil {
		k.Close()
		t.Fatal("NewKafka on a closed port succeeded")
	}
	if !errors.Is(err, publisher.ErrBrokerUnreachable) {
		t.Errorf("error %v does not wrap ErrBrokerUnreachable", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the broker %s", err, addr)
	}
	if elapsed > 15*time.Second {
		t.Errorf("NewKafka took %s to fail, want under 15s", elapsed)
	}
	t.Logf("after %s: %v", elapsed.Round(time.Millisecond), err)
}

// TestNewKafkaSilentBrokerIsBounded points the publisher at a listener that
// accepts connections and never answers: start must still give up.
func TestNewKafkaSilentBrokerIsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go holdConnections(ln)
	cfg := testKafkaConfig([]string{ln.Addr().String()})
	cfg.DialTimeout = time.Second
	start := time.Now()
	k, err := publisher.NewKafka(context.Background(), cfg, nil)
	if err == nil {
		k.Close()
		t.Fatal("NewKafka on a silent listener succeeded")
	}
	if !errors.Is(err, publisher.ErrBrokerUnreachable) ||
		!strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("error %v: want ErrBrokerUnreachable naming %s", err, ln.Addr())
	}
	if elapsed := time.Since(start); elapsed > 15*time.Second {
		t.Errorf("NewKafka took %s, want under 15s", elapsed)
	}
}

func TestNewKafkaInvalidConfig(t *testing.T) {
	cfg := testKafkaConfig([]string{"127.0.0.1:1"})
	cfg.RequiredAcks = "most"
	_, err := publisher.NewKafka(context.Background(), cfg, nil)
	if !errors.Is(err, publisher.ErrInvalidKafkaConfig) {
		t.Fatalf("error %v, want ErrInvalidKafkaConfig", err)
	}
}

func TestKafkaPublishAfterClose(t *testing.T) {
	_, k := startTestKafka(t)
	if err := k.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	err := k.Publish("after_close", message.NewMessage(uuid.NewString(), nil))
	if !errors.Is(err, publisher.ErrClosed) || !strings.Contains(err.Error(), `"after_close"`) {
		t.Errorf("publish after close: %v, want ErrClosed naming the topic", err)
	}
}

func TestKafkaPublishErrorNamesTopic(t *testing.T) {
	cfg, k := startTestKafka(t)
	topic := testenv.Unique("pub_big_")
	testenv.CreateTopic(t, cfg.Brokers, topic, 1)
	big := message.NewMessage(uuid.NewString(), make([]byte, cfg.MaxMessageBytes+1))
	err := k.Publish(topic, big)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("kafka topic %q", topic)) {
		t.Errorf("publish of an oversized message: %v, want an error naming the topic", err)
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func holdConnections(ln net.Listener) {
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		conns = append(conns, c)
	}
}

func TestNewKafkaTLSAgainstPlaintextBroker(t *testing.T) {
	cfg := testKafkaConfig(testenv.Kafka(t))
	cfg.TLS.Enabled = true
	cfg.TLS.InsecureSkipVerify = true
	cfg.DialTimeout = 2 * time.Second
	k, err := publisher.NewKafka(context.Background(), cfg, nil)
	if err == nil {
		k.Close()
		t.Fatal("TLS client against a plaintext listener connected")
	}
	if !errors.Is(err, publisher.ErrBrokerUnreachable) ||
		!strings.Contains(err.Error(), "TLS is on") {
		t.Errorf("error %v: want ErrBrokerUnreachable with a TLS hint", err)
	}
	t.Log(err)
}

func TestNewKafkaCancelledContext(t *testing.T) {
	cfg := testKafkaConfig(testenv.Kafka(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k, err := publisher.NewKafka(ctx, cfg, nil)
	if err == nil {
		k.Close()
		t.Fatal("NewKafka with a cancelled context succeeded")
	}
	if !errors.Is(err, context.Canceled) || errors.Is(err, publisher.ErrBrokerUnreachable) {
		t.Errorf("error %v, want context.Canceled and not a broker error", err)
	}
}

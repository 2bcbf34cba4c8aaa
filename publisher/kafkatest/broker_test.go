package kafkatest_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/xdg-go/scram"

	"github.com/watermill-outbox/watermill-outbox/publisher/kafkatest"
)

// clientConfig is a sarama config that gives up quickly, so a failing
// connection ends a test in seconds. It never creates topics by asking for
// them, so metadata shows only what the broker was told to create.
func clientConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Metadata.AllowAutoTopicCreation = false
	cfg.Version = sarama.V3_6_0_0
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Net.ReadTimeout = 5 * time.Second
	cfg.Net.WriteTimeout = 5 * time.Second
	cfg.Metadata.Retry.Max = 1
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	cfg.Producer.Return.Successes = true
	return cfg
}

func start(t *testing.T, cfg kafkatest.Config) *kafkatest.Broker {
	t.Helper()
	b, err := kafkatest.Start(cfg)
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// partitionsOf returns each topic's partition count as the broker reports
// it in metadata.
func partitionsOf(t *testing.T, addrs []string, topics ...string) map[string]int {
	t.Helper()
	client, err := sarama.NewClient(addrs, clientConfig())
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer client.Close()
	out := map[string]int{}
	for _, topic := range topics {
		parts, err := client.Partitions(topic)
		if err != nil {
			t.Fatalf("partitions of %q: %v", topic, err)
		}
		out[topic] = len(parts)
	}
	return out
}

func TestStartCreatesTopics(t *testing.T) {
	b := start(t, kafkatest.Config{Topics: []string{"alpha", "beta"}, Partitions: 3})
	client, err := sarama.NewClient(b.Addrs(), clientConfig())
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer client.Close()
	topics, err := client.Topics()
	if err != nil {
		t.Fatalf("topics: %v", err)
	}
	for _, want := range []string{"alpha", "beta"} {
		if !slices.Contains(topics, want) {
			t.Errorf("topic %q missing from metadata %v", want, topics)
		}
	}
	got := partitionsOf(t, b.Addrs(), "alpha", "beta")
	if got["alpha"] != 3 || got["beta"] != 3 {
		t.Errorf("partitions = %v, want 3 each", got)
	}
}

func TestStartDefaultsToOnePartition(t *testing.T) {
	b := start(t, kafkatest.Config{Topics: []string{"solo"}})
	if got := partitionsOf(t, b.Addrs(), "solo")["solo"]; got != 1 {
		t.Errorf("partitions = %d, want 1", got)
	}
}

func TestPortIsUsed(t *testing.T) {
	first := start(t, kafkatest.Config{})
	port := first.Port()
	first.Close()
	b := start(t, kafkatest.Config{Port: port})
	if b.Port() != port {
		t.Errorf("port = %d, want %d", b.Port(), port)
	}
}

func TestDataDirKeepsRecordsAndAddsNewTopics(t *testing.T) {
	dir := t.TempDir()
	b := start(t, kafkatest.Config{DataDir: dir, Topics: []string{"kept"}, Partitions: 2})
	produce(t, b.Addrs(), "kept", "v1", "v2")
	b.Close()

	// A second start on the same directory keeps "kept" and its records,
	// and still creates the topic that is new in its config.
	b2 := start(t, kafkatest.Config{DataDir: dir, Topics: []string{"kept", "fresh"},
		Partitions: 4})
	got := partitionsOf(t, b2.Addrs(), "kept", "fresh")
	if got["kept"] != 2 || got["fresh"] != 4 {
		t.Errorf("partitions after restart = %v, want kept=2 fresh=4", got)
	}
	if n := countRecords(t, b2.Addrs(), "kept"); n != 2 {
		t.Errorf("records in kept after restart = %d, want 2", n)
	}
}

func TestCleanCloseLogsNoError(t *testing.T) {
	logger := watermill.NewCaptureLogger()
	dir := t.TempDir()
	b := start(t, kafkatest.Config{DataDir: dir, Logger: logger})
	b.Close()
	// Closing must not log errors on a healthy data directory.
	if errs := logger.Captured()[watermill.ErrorLogLevel]; len(errs) > 0 {
		t.Errorf("errors logged on a clean close: %v", errs)
	}
}

func produce(t *testing.T, addrs []string, topic string, values ...string) {
	t.Helper()
	p, err := sarama.NewSyncProducer(addrs, clientConfig())
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer p.Close()
	for _, v := range values {
		msg := &sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(v)}
		if _, _, err := p.SendMessage(msg); err != nil {
			t.Fatalf("send %q: %v", v, err)
		}
	}
}

// countRecords sums the high watermarks of a topic's partitions.
func countRecords(t *testing.T, addrs []string, topic string) int64 {
	t.Helper()
	client, err := sarama.NewClient(addrs, clientConfig())
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("partitions of %q: %v", topic, err)
	}
	var n int64
	for _, p := range parts {
		off, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatalf("offset of %s/%d: %v", topic, p, err)
		}
		n += off
	}
	return n
}

// scramClient runs one SCRAM-SHA-256 conversation for sarama.
type scramClient struct{ conv *scram.ClientConversation }

func (c *scramClient) Begin(user, password, authzID string) error {
	cl, err := scram.SHA256.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	c.conv = cl.NewConversation()
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) { return c.conv.Step(challenge) }
func (c *scramClient) Done() bool                            { return c.conv.Done() }

func scramConfig(user, password string) *sarama.Config {
	cfg := clientConfig()
	cfg.Net.SASL.Enable = true
	cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
	cfg.Net.SASL.User = user
	cfg.Net.SASL.Password = password
	cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{} }
	return cfg
}

func TestSASLUsers(t *testing.T) {
	b := start(t, kafkatest.Config{
		Topics: []string{"secured"},
		SASLUsers: []kafkatest.SASLUser{
			{Mechanism: "SCRAM-SHA-256", User: "app", Password: "s3cret"},
		},
	})
	t.Run("unauthenticated", func(t *testing.T) {
		client, err := sarama.NewClient(b.Addrs(), clientConfig())
		if err == nil {
			_, err = client.Topics()
			client.Close()
		}
		if err == nil {
			t.Fatal("a client without SASL reached the broker")
		}
		t.Logf("refused as expected: %v", err)
	})
	t.Run("wrong password", func(t *testing.T) {
		client, err := sarama.NewClient(b.Addrs(), scramConfig("app", "nope"))
		if err == nil {
			client.Close()
			t.Fatal("a client with a wrong password reached the broker")
		}
	})
	t.Run("scram-sha-256", func(t *testing.T) {
		client, err := sarama.NewClient(b.Addrs(), scramConfig("app", "s3cret"))
		if err != nil {
			t.Fatalf("authenticated client: %v", err)
		}
		defer client.Close()
		parts, err := client.Partitions("secured")
		if err != nil || len(parts) != 1 {
			t.Fatalf("partitions of secured = %v, %v; want 1 partition", parts, err)
		}
	})
}

func TestStartFailsOnTakenPort(t *testing.T) {
	b := start(t, kafkatest.Config{})
	_, err := kafkatest.Start(kafkatest.Config{Port: b.Port()})
	if err == nil {
		t.Fatal("second broker on a taken port started")
	}
	if errors.Unwrap(err) == nil {
		t.Errorf("error %v does not wrap its cause", err)
	}
}

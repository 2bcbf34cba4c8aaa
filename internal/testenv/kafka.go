package testenv

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
)

// RealKafka reports whether KAFKA_BROKERS names a real cluster to test against.
func RealKafka() bool { return strings.TrimSpace(os.Getenv("KAFKA_BROKERS")) != "" }

// Kafka returns the brokers a test talks to: the cluster in KAFKA_BROKERS, or
// an embedded broker started for this test and stopped when it ends.
func Kafka(t testing.TB) []string {
	t.Helper()
	if RealKafka() {
		return strings.Split(os.Getenv("KAFKA_BROKERS"), ",")
	}
	// The broker is started here directly rather than through
	// publisher/kafkatest, so that internal/ imports nothing of the project.
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatalf("start embedded kafka: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// KafkaVersion is the protocol version tests speak, the project's default.
var KafkaVersion = sarama.V3_6_0_0

// CreateTopic creates a topic with the given partitions through the Kafka
// admin API, so it works the same on the embedded broker and a real cluster.
func CreateTopic(t testing.TB, brokers []string, topic string, partitions int32) {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = KafkaVersion
	cfg.Net.DialTimeout = 10 * time.Second
	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	if err != nil {
		Missing(t, "kafka "+strings.Join(brokers, ","), err)
	}
	defer admin.Close()
	detail := &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}
	if err := admin.CreateTopic(topic, detail, false); err != nil {
		t.Fatalf("create topic %q: %v", topic, err)
	}
}

// Package kafkatest runs an embedded Kafka-protocol broker in-process on
// loopback, for tests and demos. Clients such as sarama reach it over TCP
// exactly as they reach a real cluster, so code tested against it needs no
// special casing.
//
// The broker is github.com/twmb/franz-go/pkg/kfake. It keeps records in
// memory unless a data directory is given, in which case a broker started
// again on the same directory finds the topics and records it had.
//
// What a data directory keeps, as read from kfake's persist.go: every
// produced batch is appended to a per-partition segment file before it is
// acknowledged, so records of a topic the broker has on disk survive the
// process being killed; Start also fsyncs each batch (unless NoSync), so
// they survive the machine crashing too. Topics created through the admin
// API or Config.Topics are written to disk at once. Topics created automatically on first use, the
// idempotent producers' sequence state and records deleted with
// DeleteRecords are written only when Close runs: after a kill, such a topic
// is gone with its records, and a deleted prefix may reappear.
package kafkatest

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Config describes an embedded broker. The zero value is a one-node broker on
// a random loopback port, keeping records in memory.
type Config struct {
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// DataDir, when set, persists topics and records there, and a broker
	// started on the same directory reloads them.
	DataDir string
	// NoSync skips the fsync after each produced batch in DataDir. Records
	// still survive a killed broker process (they are in the OS page
	// cache) but not a machine crash or power loss. Sending is several
	// times faster without the fsync. Default: false (fsync each batch).
	NoSync bool
	// Topics are created at start with Partitions partitions each, also
	// when DataDir already holds a broker's state; a topic that exists
	// already is left as it is.
	Topics []string
	// Partitions is the partition count of Topics and of topics created on
	// first use. Default: 1.
	Partitions int32
	// SASLUsers adds users that must authenticate; when any is set the
	// broker requires SASL on every connection.
	SASLUsers []SASLUser
	// Logger receives the broker's own messages: kfake errors at error,
	// warnings (such as a failed write to DataDir) at info, its info at
	// debug and its debug at trace. Nil discards them.
	Logger watermill.LoggerAdapter
}

// SASLUser is a user of a broker that requires SASL.
type SASLUser struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism string
	// User is the user name.
	User string
	// Password is the user's secret.
	Password string
}

// Broker is a running embedded broker.
type Broker struct {
	cluster *kfake.Cluster
	addrs   []string
}

// Start starts a broker as described by cfg, listening on 127.0.0.1 only,
// and returns once it accepts connections.
func Start(cfg Config) (*Broker, error) {
	if cfg.Partitions <= 0 {
		cfg.Partitions = 1
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(int(cfg.Partitions)),
	}
	if cfg.Port != 0 {
		opts = append(opts, kfake.Ports(cfg.Port))
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
		if !cfg.NoSync {
			opts = append(opts, kfake.SyncWrites())
		}
	}
	if cfg.Logger != nil {
		opts = append(opts, kfake.WithLogger(kfakeLogger{cfg.Logger}))
	}
	if len(cfg.SASLUsers) > 0 {
		opts = append(opts, kfake.EnableSASL())
		for _, u := range cfg.SASLUsers {
			opts = append(opts, kfake.Superuser(u.Mechanism, u.User, u.Password))
		}
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: start broker: %w", err)
	}
	b := &Broker{cluster: cluster, addrs: cluster.ListenAddrs()}
	if err := b.ensureTopics(cfg.Topics, cfg.Partitions); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// ensureTopics creates each topic that does not exist yet. kfake's own
// seeding applies only to an empty data directory, so topics are created
// here, after the state on disk has been loaded.
func (b *Broker) ensureTopics(topics []string, partitions int32) error {
	for _, t := range topics {
		err := b.cluster.CreateTopic(t, partitions, nil)
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("kafkatest: create topic %q: %w", t, err)
		}
	}
	return nil
}

// Addrs returns the broker addresses as host:port, for Config.Brokers.
func (b *Broker) Addrs() []string { return append([]string(nil), b.addrs...) }

// Port returns the TCP port of the first broker.
func (b *Broker) Port() int {
	_, p, _ := net.SplitHostPort(b.addrs[0])
	n, _ := strconv.Atoi(p)
	return n
}

// CreateTopic creates a topic with the given number of partitions.
func (b *Broker) CreateTopic(topic string, partitions int32) error {
	if err := b.cluster.CreateTopic(topic, partitions, nil); err != nil {
		return fmt.Errorf("kafkatest: create topic %q: %w", topic, err)
	}
	return nil
}

// Close stops the broker and closes its connections. With a DataDir, what it
// held is kept on disk for the next Start.
func (b *Broker) Close() { b.cluster.Close() }

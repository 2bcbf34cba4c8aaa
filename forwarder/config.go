package forwarder

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// Mode chooses how a Forwarder moves rows to Kafka.
type Mode int

const (
	// ModeBatch reads a batch of rows per shard in one transaction and sends
	// it to Kafka in one call, with dead letters, metrics and wake-ups.
	ModeBatch Mode = iota
	// ModeComponent runs Watermill's stock components/forwarder over a
	// watermill-sql subscriber and a watermill-kafka publisher.
	ModeComponent
)

// String names the mode as it is written in configuration.
func (m Mode) String() string {
	switch m {
	case ModeBatch:
		return "batch"
	case ModeComponent:
		return "component"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// Dialects the forwarder supports.
const (
	// DialectPostgres is PostgreSQL (13 or newer), through the pgx driver.
	DialectPostgres = "postgres"
	// DialectMySQL is MySQL 8 or MariaDB 10.6 and newer.
	DialectMySQL = "mysql"
)

// DefaultPartitionKeyMetadata is the metadata entry whose value becomes the
// Kafka message key, unless Config.PartitionKeyMetadata names another.
// It is the key the project's publishers write, publisher.MetadataPartitionKey.
const DefaultPartitionKeyMetadata = publisher.MetadataPartitionKey

// ErrInvalidConfig is wrapped by every error of Config.Validate.
var ErrInvalidConfig = errors.New("forwarder: invalid config")

// Config configures a Forwarder. Zero values take the documented defaults.
type Config struct {
	// DB is the database that holds the outbox. Required.
	DB *sql.DB
	// Dialect is DialectPostgres or DialectMySQL. Required.
	Dialect string
	// DSN is the connection string of DB. On PostgreSQL it is used to open a
	// dedicated connection that LISTENs for NotifyChannel(Topic); empty turns
	// LISTEN off and leaves Wake and polling. Ignored on MySQL.
	DSN string

	// Topic is the base SQL topic of the outbox. Default: "outbox".
	Topic string
	// Shards is how many SQL topics the outbox is split into (see
	// publisher.ShardTopics). It must match the publisher's. Default: 1.
	Shards int
	// ConsumerGroup names this forwarder's position in the offsets tables;
	// every instance of one forwarder uses the same group.
	// Default: "outbox-forwarder".
	ConsumerGroup string

	// Brokers are the Kafka bootstrap brokers. Required unless Producer is
	// set (ModeComponent always needs them).
	Brokers []string
	// Kafka overrides the sarama configuration; nil means DefaultSaramaConfig.
	// ModeBatch needs Producer.Return.Successes and Producer.Return.Errors.
	Kafka *sarama.Config
	// Producer, when set, is used by ModeBatch instead of one built from
	// Brokers and Kafka. The forwarder does not close it.
	Producer sarama.SyncProducer
	// PartitionKeyMetadata is the metadata entry used as the Kafka message
	// key. Default: DefaultPartitionKeyMetadata ("partition_key").
	PartitionKeyMetadata string

	// Mode is ModeBatch (default) or ModeComponent.
	Mode Mode
	// BatchSize is the most rows read and sent at once per shard.
	// Default: 500.
	BatchSize int
	// PollInterval is how often an idle shard is checked when no wake-up
	// comes. Default: 1s.
	PollInterval time.Duration
	// BackoffInitial is the first wait after a failed batch; it doubles on
	// each further failure. Default: 100ms.
	BackoffInitial time.Duration
	// BackoffMax caps the wait between failed batches. Default: 30s.
	BackoffMax time.Duration
	// BatchTimeout bounds one batch: its probe, its transaction and the
	// Kafka send inside it. A batch that runs out of time is rolled back
	// and retried after a backoff, so a hung database connection cannot
	// stall a shard for ever; records Kafka confirmed in it are sent again
	// (at-least-once). Keep it above the producer's own worst case (its
	// retries times its timeouts). Default: 2m.
	BatchTimeout time.Duration

	// Retention is how long forwarded rows are kept before deletion; 0 keeps
	// them forever. Rows not yet acknowledged by every consumer group in the
	// offsets table are never deleted. Default: 0.
	Retention time.Duration
	// RetentionBatch is how many rows one DELETE removes. Default: 1000.
	RetentionBatch int
	// RetentionInterval is how often old rows are cleaned up. Default: 1m.
	RetentionInterval time.Duration

	// DeadLetterTopic, when set, also receives every dead-lettered row on
	// Kafka (the raw envelope, with the reason in a header). The dead-letter
	// table is always written. Default: empty.
	DeadLetterTopic string
	// MetricsInterval is how often the backlog gauges and the health check
	// are refreshed. Default: 10s.
	MetricsInterval time.Duration
	// InitializeSchema runs publisher.Migrate for every shard when Run
	// starts, creating the outbox, offsets and dead-letter tables that are
	// missing. Default: false.
	InitializeSchema bool

	// Logger receives state changes; nil means watermill.NopLogger.
	Logger watermill.LoggerAdapter
	// Registerer, when set, gets the forwarder's Prometheus collectors.
	Registerer prometheus.Registerer
}

func (c *Config) setDefaults() {
	setDefault(&c.Topic, "outbox")
	setDefault(&c.Shards, 1)
	setDefault(&c.ConsumerGroup, "outbox-forwarder")
	setDefault(&c.PartitionKeyMetadata, DefaultPartitionKeyMetadata)
	setDefault(&c.BatchSize, 500)
	setDefault(&c.PollInterval, time.Second)
	setDefault(&c.BackoffInitial, 100*time.Millisecond)
	setDefault(&c.BackoffMax, 30*time.Second)
	setDefault(&c.BatchTimeout, 2*time.Minute)
	setDefault(&c.RetentionBatch, 1000)
	setDefault(&c.RetentionInterval, time.Minute)
	setDefault(&c.MetricsInterval, 10*time.Second)
	if c.Logger == nil {
		c.Logger = watermill.NopLogger{}
	}
}

func setDefault[T comparable](field *T, value T) {
	var zero T
	if *field == zero {
		*field = value
	}
}

// Validate reports every problem of the configuration at once, each wrapped
// with ErrInvalidConfig. It expects defaults to be filled in (New does so).
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.DB == nil {
		bad("db is nil")
	}
	if c.Dialect != DialectPostgres && c.Dialect != DialectMySQL {
		bad("dialect %q is not %q or %q", c.Dialect, DialectPostgres, DialectMySQL)
	}
	c.validateTopics(bad)
	if c.ConsumerGroup == "" || len(c.ConsumerGroup) > 255 {
		bad("consumer group %q must have 1 to 255 characters", c.ConsumerGroup)
	}
	c.validateKafka(bad)
	c.validateNumbers(bad)
	return errors.Join(errs...)
}

func (c Config) validateTopics(bad func(string, ...any)) {
	if c.Shards < 1 || c.Shards > publisher.MaxShards {
		bad("shards %d must be between 1 and %d", c.Shards, publisher.MaxShards)
	}
	if err := publisher.ValidateTopic(c.Topic); err != nil {
		bad("topic: %w", err)
	}
	if c.DeadLetterTopic != "" {
		if err := publisher.ValidateKafkaTopic(c.DeadLetterTopic); err != nil {
			bad("dead letter topic: %w", err)
		}
	}
}

func (c Config) validateKafka(bad func(string, ...any)) {
	if c.Mode != ModeBatch && c.Mode != ModeComponent {
		bad("unknown %s", c.Mode)
	}
	if len(c.Brokers) == 0 && (c.Producer == nil || c.Mode == ModeComponent) {
		bad("brokers are empty and no producer is given")
	}
	if c.Kafka != nil && c.Mode == ModeBatch &&
		(!c.Kafka.Producer.Return.Successes || !c.Kafka.Producer.Return.Errors) {
		bad("kafka config must set Producer.Return.Successes and Producer.Return.Errors")
	}
	if c.Kafka != nil {
		if err := c.Kafka.Validate(); err != nil {
			bad("kafka config: %w", err)
		}
	}
}

func (c Config) validateNumbers(bad func(string, ...any)) {
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"poll interval", c.PollInterval}, {"backoff initial", c.BackoffInitial},
		{"backoff max", c.BackoffMax}, {"retention interval", c.RetentionInterval},
		{"metrics interval", c.MetricsInterval}, {"batch timeout", c.BatchTimeout},
	} {
		if d.value <= 0 {
			bad("%s %s must be positive", d.name, d.value)
		}
	}
	if c.BackoffMax < c.BackoffInitial {
		bad("backoff max %s is below backoff initial %s", c.BackoffMax, c.BackoffInitial)
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		bad("batch size %d must be between 1 and 10000", c.BatchSize)
	}
	if c.Retention < 0 {
		bad("retention %s must not be negative", c.Retention)
	}
	if c.RetentionBatch < 1 {
		bad("retention batch %d must be at least 1", c.RetentionBatch)
	}
}

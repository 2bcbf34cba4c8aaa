// Package config holds the configuration model of watermill-outbox: one
// Config with a section for each part of the system (Kafka, SQL store, outbox,
// inbox, router, logging and metrics). A Config is built from Default, then
// overlaid with an optional YAML file and with environment variables (see
// Load), and checked with Validate, which reports every problem at once.
//
// Printing a Config, or any section of it, never shows a secret: passwords,
// SASL secrets and the password inside a DSN are replaced by a fixed mask.
package config

import "time"

// Config is the whole configuration of a watermill-outbox process.
type Config struct {
	// Kafka configures the brokers, the producer and the connection security.
	Kafka Kafka `yaml:"kafka"`
	// SQL configures the database that holds the outbox and inbox tables.
	SQL SQL `yaml:"sql"`
	// Outbox configures the outbox tables and the forwarder that drains them.
	Outbox Outbox `yaml:"outbox"`
	// Inbox configures the deduplication table and the retry and poison path.
	Inbox Inbox `yaml:"inbox"`
	// Router configures the Watermill router and its middleware.
	Router Router `yaml:"router"`
	// Log configures the logrus-backed logger.
	Log Log `yaml:"log"`
	// Metrics configures the Prometheus and health endpoint.
	Metrics Metrics `yaml:"metrics"`
}

// Kafka configures the connection to Kafka and the producer.
type Kafka struct {
	// Brokers lists the bootstrap brokers as host:port. Default: localhost:9092.
	Brokers []string `yaml:"brokers"`
	// ClientID is sent to the brokers to identify this client.
	// Default: watermill-outbox.
	ClientID string `yaml:"client_id"`
	// Version is the Kafka protocol version the client speaks, as "3.6.0".
	// It is pinned because Kafka 4.x no longer accepts the oldest protocol
	// versions. Default: 3.6.0.
	Version string `yaml:"version"`
	// RequiredAcks is how many replicas must confirm a write: "all" (every
	// in-sync replica), "leader" or "none". Default: all.
	RequiredAcks string `yaml:"required_acks"`
	// Idempotent turns on the idempotent producer, which stops retries from
	// writing duplicates within a partition. It needs RequiredAcks "all".
	// Default: true.
	Idempotent bool `yaml:"idempotent"`
	// Compression is the producer's codec: none, gzip, snappy, lz4 or zstd.
	// Default: none.
	Compression string `yaml:"compression"`
	// MaxMessageBytes is the largest record the producer sends; a larger one
	// is refused before it reaches the broker. Default: 1000000.
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// RetryMax is how many times the producer retries a failed send.
	// Default: 5.
	RetryMax int `yaml:"retry_max"`
	// RetryBackoff is the wait between producer retries. Default: 100ms.
	RetryBackoff time.Duration `yaml:"retry_backoff"`
	// DialTimeout bounds connecting to a broker, and the reachability check
	// done when a publisher starts. Default: 10s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// TLS configures transport encryption.
	TLS TLS `yaml:"tls"`
	// SASL configures authentication.
	SASL SASL `yaml:"sasl"`
}

// TLS configures encryption of the connection to the brokers.
type TLS struct {
	// Enabled turns TLS on. Default: false.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM file of the certificate authorities to trust; empty
	// means the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile is the PEM client certificate for mutual TLS; it needs KeyFile.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of CertFile.
	KeyFile string `yaml:"key_file"`
	// ServerName overrides the name checked against the broker certificate.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify turns off certificate verification. Only for
	// development; it must be set explicitly. Default: false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// SASL configures authentication to the brokers.
type SASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty turns SASL
	// off. Default: empty.
	Mechanism string `yaml:"mechanism"`
	// User is the SASL user name.
	User string `yaml:"user"`
	// Password is the SASL secret. It is never printed.
	Password Secret `yaml:"password"`
}

// SQL configures the database that holds the outbox and inbox tables.
type SQL struct {
	// Dialect is postgres, mysql (also for MariaDB) or sqlite.
	// Default: postgres.
	Dialect string `yaml:"dialect"`
	// DSN is the driver's connection string. Its password is never printed.
	DSN Secret `yaml:"dsn"`
	// MaxOpenConns caps open connections; 0 means no cap. Default: 20.
	MaxOpenConns int `yaml:"max_open_conns"`
	// MaxIdleConns caps idle connections kept in the pool. Default: 5.
	MaxIdleConns int `yaml:"max_idle_conns"`
	// ConnMaxLifetime closes connections older than this; 0 keeps them.
	// Default: 30m.
	ConnMaxLifetime time.Duration `yaml:"conn_max_lifetime"`
}

// Outbox configures the outbox tables and the forwarder.
type Outbox struct {
	// Topic is the SQL topic (the table suffix) the outbox publisher writes
	// to and the forwarder reads. Default: outbox.
	Topic string `yaml:"topic"`
	// Shards splits the outbox into this many SQL topics by partition key, so
	// several forwarders can drain in parallel with per-key order kept.
	// Default: 1.
	Shards int `yaml:"shards"`
	// ConsumerGroup names the forwarder's offsets in the SQL store.
	// Default: outbox-forwarder.
	ConsumerGroup string `yaml:"consumer_group"`
	// BatchSize is how many rows the forwarder reads and sends at once.
	// Default: 500.
	BatchSize int `yaml:"batch_size"`
	// PollInterval is the fallback poll of an idle outbox. Default: 1s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// BackoffInitial is the first wait after a failed send. Default: 100ms.
	BackoffInitial time.Duration `yaml:"backoff_initial"`
	// BackoffMax caps the wait between failed sends. Default: 30s.
	BackoffMax time.Duration `yaml:"backoff_max"`
	// Retention is how long forwarded rows are kept; 0 keeps them.
	// Default: 168h.
	Retention time.Duration `yaml:"retention"`
	// RetentionBatch is how many rows one cleanup statement deletes.
	// Default: 1000.
	RetentionBatch int `yaml:"retention_batch"`
	// DeadLetterTopic is the Kafka topic for rows that can never be sent.
	// Default: outbox.dead-letter.
	DeadLetterTopic string `yaml:"dead_letter_topic"`
}

// Inbox configures message deduplication on the consumer side.
type Inbox struct {
	// Table is the deduplication table. Default: watermill_inbox.
	Table string `yaml:"table"`
	// ConsumerGroup scopes message ids; two groups may each apply a message.
	// Default: the router's consumer group.
	ConsumerGroup string `yaml:"consumer_group"`
	// KeyMetadata, when set, takes the dedup key from this metadata entry
	// instead of the message UUID. Default: empty (UUID).
	KeyMetadata string `yaml:"key_metadata"`
	// MaxAttempts is how many times a failing message is tried before it is
	// poisoned. Default: 5.
	MaxAttempts int `yaml:"max_attempts"`
	// RetryInitial is the first backoff between attempts. Default: 100ms.
	RetryInitial time.Duration `yaml:"retry_initial"`
	// RetryMax caps the backoff between attempts. Default: 10s.
	RetryMax time.Duration `yaml:"retry_max"`
	// PoisonTopic receives messages that exhausted their attempts.
	// Default: inbox.poison.
	PoisonTopic string `yaml:"poison_topic"`
	// TxTimeout bounds the handler's database transaction. Default: 30s.
	TxTimeout time.Duration `yaml:"tx_timeout"`
	// DedupWindow is how long processed ids are remembered; a redelivery
	// older than this is treated as new. Default: 168h.
	DedupWindow time.Duration `yaml:"dedup_window"`
}

// Router configures the Watermill router and its middleware.
type Router struct {
	// Backend is the pub/sub the router consumes from: kafka, sql,
	// gochannel, amqp, nats or redis. Default: kafka.
	Backend string `yaml:"backend"`
	// ConsumerGroup is the Kafka consumer group (and its equivalent on other
	// backends). Default: watermill-outbox.
	ConsumerGroup string `yaml:"consumer_group"`
	// CloseTimeout bounds graceful shutdown. Default: 30s.
	CloseTimeout time.Duration `yaml:"close_timeout"`
	// HandlerTimeout bounds one handler attempt; 0 means none. Default: 0.
	HandlerTimeout time.Duration `yaml:"handler_timeout"`
	// AMQPURL is the RabbitMQ address for the amqp backend. Its password is
	// never printed. Default: amqp://guest:guest@127.0.0.1:5672/.
	AMQPURL Secret `yaml:"amqp_url"`
	// NATSURL is the NATS address for the nats backend.
	// Default: nats://127.0.0.1:4222.
	NATSURL string `yaml:"nats_url"`
	// RedisAddr is the Redis address for the redis backend.
	// Default: 127.0.0.1:6379.
	RedisAddr string `yaml:"redis_addr"`
}

// Log configures logging.
type Log struct {
	// Level is trace, debug, info, warn or error. Default: info.
	Level string `yaml:"level"`
	// Format is text or json. Default: text.
	Format string `yaml:"format"`
}

// Metrics configures the Prometheus and health endpoint.
type Metrics struct {
	// Address is where /metrics and /healthz are served; empty turns the
	// endpoint off. Default: :9090.
	Address string `yaml:"address"`
}

// Default returns a Config with every default filled in. The defaults are
// meant for production: writes wait for every in-sync replica and the
// producer is idempotent.
func Default() Config {
	return Config{
		Kafka: Kafka{
			Brokers:         []string{"localhost:9092"},
			ClientID:        "watermill-outbox",
			Version:         "3.6.0",
			RequiredAcks:    "all",
			Idempotent:      true,
			Compression:     "none",
			MaxMessageBytes: 1000000,
			RetryMax:        5,
			RetryBackoff:    100 * time.Millisecond,
			DialTimeout:     10 * time.Second,
		},
		SQL: SQL{
			Dialect:         "postgres",
			MaxOpenConns:    20,
			MaxIdleConns:    5,
			ConnMaxLifetime: 30 * time.Minute,
		},
		Outbox: Outbox{
			Topic:           "outbox",
			Shards:          1,
			ConsumerGroup:   "outbox-forwarder",
			BatchSize:       500,
			PollInterval:    time.Second,
			BackoffInitial:  100 * time.Millisecond,
			BackoffMax:      30 * time.Second,
			Retention:       168 * time.Hour,
			RetentionBatch:  1000,
			DeadLetterTopic: "outbox.dead-letter",
		},
		Inbox: Inbox{
			Table:        "watermill_inbox",
			MaxAttempts:  5,
			RetryInitial: 100 * time.Millisecond,
			RetryMax:     10 * time.Second,
			PoisonTopic:  "inbox.poison",
			TxTimeout:    30 * time.Second,
			DedupWindow:  168 * time.Hour,
		},
		Router: Router{
			Backend:       "kafka",
			ConsumerGroup: "watermill-outbox",
			CloseTimeout:  30 * time.Second,
			AMQPURL:       "amqp://guest:guest@127.0.0.1:5672/",
			NATSURL:       "nats://127.0.0.1:4222",
			RedisAddr:     "127.0.0.1:6379",
		},
		Log:     Log{Level: "info", Format: "text"},
		Metrics: Metrics{Address: ":9090"},
	}
}

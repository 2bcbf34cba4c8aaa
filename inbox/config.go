package inbox

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/watermill-outbox/watermill-outbox/config"
)

// DefaultRetentionBatch is how many rows one retention statement deletes
// when Config.RetentionBatch is zero.
const DefaultRetentionBatch = 1000

// KeyFunc returns the deduplication key of a message. It is called once
// per delivery, before any transaction. An empty key is treated as
// ErrEmptyKey; an error it returns is treated as permanent: the message
// goes to the poison topic without running the handler.
type KeyFunc func(*message.Message) (string, error)

// Config configures an Inbox. The embedded config.Inbox carries the
// settings read from configuration files; the other fields are the
// dependencies only code can supply. Zero values take the defaults named on
// each field (for config.Inbox fields: the values of config.Default(); an
// empty ConsumerGroup becomes config.Default().Router.ConsumerGroup, so use
// ConfigFrom to follow a configured router group).
type Config struct {
	config.Inbox

	// DB is the database holding the deduplication table and the handler's
	// data. Required.
	DB *sql.DB
	// Dialect is "postgres" or "mysql" (MySQL and MariaDB). Required.
	Dialect string
	// Publisher receives poisoned messages on PoisonTopic. Required: without
	// it a message that keeps failing would block its partition forever.
	Publisher message.Publisher
	// Logger receives the inbox's logs. Default: watermill.NopLogger.
	Logger watermill.LoggerAdapter
	// OnEvent, when set, is called for every per-message event (processed,
	// duplicate, retried, poisoned, failed; see EventKind) and replaces the
	// inbox's own log line for it: with a hook the inbox writes no
	// per-message lines, so a caller that logs events itself (as the router
	// package does) logs each exactly once. Lines about the inbox as a whole
	// (retention) still go to Logger. It is called synchronously on the
	// delivery's goroutine, possibly from many goroutines at once, before
	// the middleware returns; it must be quick and must not panic.
	// Default: nil, events are logged to Logger.
	OnEvent func(Event)
	// Registerer registers the inbox metrics. Default: nil, the metrics are
	// kept but not registered anywhere.
	Registerer prometheus.Registerer
	// KeyFunc computes the deduplication key. It may not be combined with
	// KeyMetadata. Default: the message UUID, or the KeyMetadata entry.
	KeyFunc KeyFunc
	// TxOptions are passed to BeginTx for every attempt. Default: nil, the
	// database's default isolation (READ COMMITTED on PostgreSQL,
	// REPEATABLE READ on MySQL). Stricter levels work; a concurrent
	// duplicate then fails with a serialization error and is retried.
	TxOptions *sql.TxOptions
	// RetentionBatch is how many rows one Cleanup statement deletes.
	// Default: DefaultRetentionBatch.
	RetentionBatch int
}

// ConfigFrom starts a Config from a whole configuration: its Inbox
// section, its SQL dialect, and the router's consumer group when the inbox
// names none. The caller still sets DB, Publisher and the other
// dependencies.
func ConfigFrom(c config.Config) Config {
	cfg := Config{Inbox: c.Inbox, Dialect: c.SQL.Dialect}
	if cfg.ConsumerGroup == "" {
		cfg.ConsumerGroup = c.Router.ConsumerGroup
	}
	return cfg
}

func (c *Config) setDefaults() {
	def := config.Default()
	d := def.Inbox
	if c.Table == "" {
		c.Table = d.Table
	}
	if c.ConsumerGroup == "" {
		c.ConsumerGroup = def.Router.ConsumerGroup
	}
	setIfZero(&c.MaxAttempts, d.MaxAttempts)
	setIfZero(&c.RetryInitial, d.RetryInitial)
	setIfZero(&c.RetryMax, d.RetryMax)
	setIfZero(&c.TxTimeout, d.TxTimeout)
	setIfZero(&c.DedupWindow, d.DedupWindow)
	setIfZero(&c.RetentionBatch, DefaultRetentionBatch)
	if c.PoisonTopic == "" {
		c.PoisonTopic = d.PoisonTopic
	}
	if c.Logger == nil {
		c.Logger = watermill.NopLogger{}
	}
}

func setIfZero[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// Validate reports every problem of the configuration at once, joined with
// errors.Join, or nil. New calls it after filling in the defaults.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("inbox: config: "+format, args...))
	}
	if c.DB == nil {
		add("DB is nil")
	}
	if _, err := dialectFor(c.Dialect); err != nil {
		errs = append(errs, err)
	}
	if err := validateTable(c.Table); err != nil {
		errs = append(errs, err)
	}
	if c.ConsumerGroup == "" {
		add("ConsumerGroup is empty")
	}
	if c.MaxAttempts < 1 {
		add("MaxAttempts %d is below 1", c.MaxAttempts)
	}
	if c.RetryInitial <= 0 || c.RetryMax < c.RetryInitial {
		add("RetryInitial %s and RetryMax %s: need 0 < RetryInitial <= RetryMax",
			c.RetryInitial, c.RetryMax)
	}
	if c.PoisonTopic == "" {
		add("PoisonTopic is empty")
	}
	if c.Publisher == nil {
		add("Publisher (for the poison topic) is nil")
	}
	if c.TxTimeout <= 0 {
		add("TxTimeout %s is not positive", c.TxTimeout)
	}
	if c.DedupWindow <= 0 {
		add("DedupWindow %s is not positive", c.DedupWindow)
	}
	if c.RetentionBatch < 1 {
		add("RetentionBatch %d is below 1", c.RetentionBatch)
	}
	if c.KeyFunc != nil && c.KeyMetadata != "" {
		add("KeyFunc and KeyMetadata %q are both set", c.KeyMetadata)
	}
	return errors.Join(errs...)
}

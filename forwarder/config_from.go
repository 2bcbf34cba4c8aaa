package forwarder

import (
	"database/sql"
	"fmt"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// ConfigFrom builds a forwarder Config from the project configuration and an
// open database (see publisher.OpenDB): the outbox section, the SQL
// dialect and DSN (for LISTEN), the brokers and a sarama configuration made
// by publisher.SaramaConfig. The caller may still set Mode, Logger,
// Registerer and the other fields config.Config does not cover.
func ConfigFrom(cfg config.Config, db *sql.DB) (Config, error) {
	kafkaCfg, err := publisher.SaramaConfig(cfg.Kafka)
	if err != nil {
		return Config{}, fmt.Errorf("forwarder: kafka config: %w", err)
	}
	o := cfg.Outbox
	return Config{
		DB:              db,
		Dialect:         cfg.SQL.Dialect,
		DSN:             cfg.SQL.DSN.Reveal(),
		Topic:           o.Topic,
		Shards:          o.Shards,
		ConsumerGroup:   o.ConsumerGroup,
		Brokers:         cfg.Kafka.Brokers,
		Kafka:           kafkaCfg,
		BatchSize:       o.BatchSize,
		PollInterval:    o.PollInterval,
		BackoffInitial:  o.BackoffInitial,
		BackoffMax:      o.BackoffMax,
		Retention:       o.Retention,
		RetentionBatch:  o.RetentionBatch,
		DeadLetterTopic: o.DeadLetterTopic,
	}, nil
}

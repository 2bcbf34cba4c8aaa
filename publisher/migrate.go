package publisher

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"

	"github.com/watermill-outbox/watermill-outbox/internal/sqldialect"
)

// Migrate creates whatever is missing of the outbox schema: for each SQL
// topic, the messages table and the offsets table exactly as watermill-sql's
// default schema and offsets adapters create them (watermill_<topic> and
// watermill_offsets_<topic>), and the shared dead-letter table
// watermill_outbox_dead_letters. With no topics it migrates
// DefaultOutboxTopic. A sharded outbox needs every shard topic; see
// ShardTopics and MigrateOutbox.
//
// Migrate is idempotent and safe to run from several processes at once:
// the statements run under a migration lock (an advisory transaction lock
// on PostgreSQL, a GET_LOCK session lock on MySQL). It takes a *sql.DB, not
// a transaction, because MySQL commits DDL implicitly: never run it inside
// a business transaction. Every topic is validated before any SQL runs, as
// ValidateTopic does, except that a topic may use the three bytes that
// ValidateTopic keeps free for a shard suffix: topics given here are final
// table names, such as those ShardTopics returns.
func Migrate(ctx context.Context, db *sql.DB, dialect string, topics ...string) error {
	d, err := sqldialect.Get(dialect)
	if err != nil {
		return fmt.Errorf("publisher: migrate: %w", err)
	}
	if db == nil {
		return errors.New("publisher: migrate: nil database")
	}
	if len(topics) == 0 {
		topics = []string{DefaultOutboxTopic}
	}
	if err := validateTopics(topics); err != nil {
		return fmt.Errorf("publisher: migrate: %w", err)
	}
	queries := migrationQueries(d, topics)
	return d.WithMigrationLock(ctx, db, func(ctx context.Context, ex sqldialect.Execer) error {
		for _, q := range queries {
			if _, err := ex.ExecContext(ctx, q.Query, q.Args...); err != nil {
				return fmt.Errorf("publisher: migrate %s: %w", dialect, err)
			}
		}
		return nil
	})
}

// MigrateOutbox migrates every SQL topic of an outbox configured by cfg:
// ForwarderTopic, or all its shard topics when cfg.Shards > 1.
func MigrateOutbox(ctx context.Context, db *sql.DB, cfg OutboxConfig) error {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	return Migrate(ctx, db, cfg.Dialect, ShardTopics(cfg.ForwarderTopic, cfg.Shards)...)
}

// migrationQueries reuses watermill-sql's own SchemaInitializingQueries, so
// the layout cannot drift from what its publisher and subscriber expect.
func migrationQueries(d sqldialect.Dialect, topics []string) []wsql.Query {
	var qs []wsql.Query
	for _, t := range topics {
		qs = append(qs, d.SchemaAdapter().SchemaInitializingQueries(t)...)
		qs = append(qs, d.OffsetsAdapter().SchemaInitializingQueries(t)...)
	}
	for _, s := range d.DeadLetterSchema() {
		qs = append(qs, wsql.Query{Query: s})
	}
	return qs
}

func validateTopics(topics []string) error {
	var errs []error
	for _, t := range topics {
		if err := validateSQLTopic(t, maxTableTopicLength); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

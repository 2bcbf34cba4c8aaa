package sqldialect

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
)

// postgres is the PostgreSQL dialect.
type postgres struct{}

func (postgres) Name() string { return Postgres }

func (postgres) SchemaAdapter() wsql.SchemaAdapter {
	return wsql.DefaultPostgreSQLSchema{}
}

func (postgres) OffsetsAdapter() wsql.OffsetsAdapter {
	return wsql.DefaultPostgreSQLOffsetsAdapter{}
}

func (postgres) DeadLetterSchema() []string {
	return []string{`CREATE TABLE IF NOT EXISTS ` + DeadLetterTable + ` (
	id BIGSERIAL PRIMARY KEY,
	original_offset BIGINT NOT NULL,
	sql_topic VARCHAR(255) NOT NULL,
	destination_topic VARCHAR(255) NOT NULL DEFAULT '',
	uuid VARCHAR(36) NOT NULL DEFAULT '',
	payload BYTEA,
	metadata JSON,
	reason TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	CONSTRAINT watermill_outbox_dead_letters_row UNIQUE (sql_topic, original_offset)
)`}
}

func (postgres) DeadLetterInsert() string {
	return `INSERT INTO ` + DeadLetterTable + ` (original_offset, sql_topic,
	destination_topic, uuid, payload, metadata, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sql_topic, original_offset) DO NOTHING`
}

func (postgres) NotifyQuery() string { return `SELECT pg_notify($1, $2)` }

// WithMigrationLock runs fn in one transaction that first takes a
// transaction-scoped advisory lock. PostgreSQL DDL is transactional, so the
// tables fn creates become visible to the next holder only with the commit
// that also releases the lock: this is what stops concurrent CREATE TABLE
// IF NOT EXISTS from failing on the pg_type unique index.
func (postgres) WithMigrationLock(
	ctx context.Context, db *sql.DB, fn func(context.Context, Execer) error,
) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqldialect: postgres: begin migration: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey()); err != nil {
		return fmt.Errorf("sqldialect: postgres: take migration lock: %w", err)
	}
	if err := fn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqldialect: postgres: commit migration: %w", err)
	}
	return nil
}

// lockKey is the advisory lock key of migrations: a hash of the lock name,
// so it is unlikely to clash with an application's own advisory locks.
func lockKey() int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(migrationLockName))
	return int64(h.Sum64())
}

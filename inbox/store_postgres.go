package inbox

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// postgres is the PostgreSQL dialect. Its INSERT ... ON CONFLICT DO NOTHING
// waits on an uncommitted row with the same key and, once that commits,
// affects no row (READ COMMITTED) or fails with a serialization error
// (REPEATABLE READ and above); either way the second delivery never runs.
type postgres struct{}

func pgQuote(table string) string { return `"` + table + `"` }

func (postgres) schema(table string) []string {
	t := pgQuote(table)
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
			consumer_group TEXT NOT NULL,
			message_id TEXT NOT NULL,
			received_at TIMESTAMPTZ NOT NULL,
			processed_at TIMESTAMPTZ NOT NULL,
			PRIMARY KEY (consumer_group, message_id)
		)`,
		`CREATE INDEX IF NOT EXISTS ` + pgQuote(table+"_received_idx") +
			` ON ` + t + ` (consumer_group, received_at)`,
	}
}

func (postgres) lock(ctx context.Context, conn *sql.Conn, table string) error {
	_, key := lockName(table)
	_, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key)
	return err
}

func (postgres) unlock(ctx context.Context, conn *sql.Conn, table string) error {
	_, key := lockName(table)
	_, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, key)
	return err
}

func (postgres) insert(table string) string {
	return `INSERT INTO ` + pgQuote(table) +
		` (consumer_group, message_id, received_at, processed_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`
}

// prepareInsert is false: pgx caches its statements by itself.
func (postgres) prepareInsert() bool { return false }

// cleanup selects a bounded batch of physical row ids first, so one
// statement never deletes more than the limit.
func (postgres) cleanup(table string) string {
	t := pgQuote(table)
	return `DELETE FROM ` + t + ` WHERE ctid = ANY(ARRAY(
		SELECT ctid FROM ` + t + ` WHERE consumer_group = $1 AND received_at < $2 LIMIT $3))`
}

func (postgres) conflict(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "40001", "40P01", "55P03": // serialization, deadlock, lock not available
		return true
	}
	return false
}

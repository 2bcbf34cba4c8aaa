package sqldialect

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
)

// ErrLockTimeout is returned when the migration lock was not granted in time.
var ErrLockTimeout = errors.New("migration lock not granted in time")

// defaultLockWait bounds the wait for the MySQL migration lock when the
// context has no deadline.
const defaultLockWait = 60 * time.Second

// mysqlDialect is the MySQL and MariaDB dialect.
type mysqlDialect struct{}

func (mysqlDialect) Name() string { return MySQL }

func (mysqlDialect) SchemaAdapter() wsql.SchemaAdapter {
	return wsql.DefaultMySQLSchema{}
}

func (mysqlDialect) OffsetsAdapter() wsql.OffsetsAdapter {
	return wsql.DefaultMySQLOffsetsAdapter{}
}

func (mysqlDialect) DeadLetterSchema() []string {
	return []string{"CREATE TABLE IF NOT EXISTS `" + DeadLetterTable + "` (" + `
	id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	original_offset BIGINT NOT NULL,
	sql_topic VARCHAR(255) NOT NULL,
	destination_topic VARCHAR(255) NOT NULL DEFAULT '',
	uuid VARCHAR(36) NOT NULL DEFAULT '',
	payload LONGBLOB,
	metadata JSON,
	reason TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	UNIQUE KEY dead_letter_row (sql_topic, original_offset)
)`}
}

func (mysqlDialect) DeadLetterInsert() string {
	return "INSERT IGNORE INTO `" + DeadLetterTable + "` (original_offset, sql_topic," +
		" destination_topic, uuid, payload, metadata, reason) VALUES (?, ?, ?, ?, ?, ?, ?)"
}

func (mysqlDialect) NotifyQuery() string { return "" }

// WithMigrationLock holds a named session lock (GET_LOCK) on one dedicated
// connection while fn runs on that connection. MySQL commits DDL
// implicitly, so a transaction could not serialise the migration; the
// session lock is released after fn, or by the server if the connection
// drops.
func (mysqlDialect) WithMigrationLock(
	ctx context.Context, db *sql.DB, fn func(context.Context, Execer) error,
) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqldialect: mysql: connection for migration: %w", err)
	}
	defer conn.Close()
	name, err := mysqlLockName(ctx, conn)
	if err != nil {
		return err
	}
	if err := getLock(ctx, conn, name); err != nil {
		return err
	}
	defer releaseLock(conn, name)
	return fn(ctx, conn)
}

// mysqlLockName scopes the migration lock to the current database, as
// PostgreSQL's advisory locks are, so that services sharing a server do
// not wait for each other. The database name is hashed to keep the lock
// name within MySQL's 64-character limit.
func mysqlLockName(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (string, error) {
	var dbName string
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(DATABASE(), '')`).Scan(&dbName); err != nil {
		return "", fmt.Errorf("sqldialect: mysql: current database: %w", err)
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(dbName))
	return fmt.Sprintf("%s:%016x", migrationLockName, h.Sum64()), nil
}

func getLock(ctx context.Context, conn *sql.Conn, name string) error {
	var granted sql.NullInt64
	wait := lockWaitSeconds(ctx)
	row := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, ?)`, name, wait)
	if err := row.Scan(&granted); err != nil {
		return fmt.Errorf("sqldialect: mysql: take migration lock: %w", err)
	}
	if !granted.Valid || granted.Int64 != 1 {
		return fmt.Errorf("sqldialect: mysql: lock %q after %ds: %w", name, wait, ErrLockTimeout)
	}
	return nil
}

// releaseLock frees the session lock. It uses its own short context so that
// a cancelled migration still releases. If the release fails, the
// connection is discarded instead of going back to the pool, and the server
// drops the lock with the session.
func releaseLock(conn *sql.Conn, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, `SELECT RELEASE_LOCK(?)`, name); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// lockWaitSeconds turns the context deadline into GET_LOCK's timeout,
// rounded down so that the server gives up before the context does: the
// caller then gets ErrLockTimeout, not a query cancelled by its context.
// Less than a second left still waits one second.
func lockWaitSeconds(ctx context.Context) int64 {
	wait := defaultLockWait
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	return int64(math.Max(1, math.Floor(wait.Seconds())))
}

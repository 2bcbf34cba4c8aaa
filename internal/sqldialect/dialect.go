// Package sqldialect holds what differs between the SQL databases that store
// the outbox: the watermill-sql schema and offsets adapters to use, the
// dead-letter table, the lock that serialises schema migrations, and the
// optional commit-time notification. Each dialect lives in its own file.
//
// The watermill-sql adapters are always the library's defaults, with their
// default table naming, so tables written here are exactly the tables that
// Watermill's own SQL publisher and subscriber use.
package sqldialect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
)

// Names of the supported dialects, as used in configuration.
const (
	// Postgres is PostgreSQL, reached through the pgx stdlib driver.
	Postgres = "postgres"
	// MySQL is MySQL or MariaDB, reached through go-sql-driver/mysql.
	MySQL = "mysql"
)

// DeadLetterTable is the table that holds outbox rows the forwarder gave up
// on. It is shared by every outbox topic; sql_topic tells them apart.
const DeadLetterTable = "watermill_outbox_dead_letters"

// ErrUnknownDialect is returned by Get for a name no dialect answers to.
var ErrUnknownDialect = errors.New("unknown sql dialect")

// Execer runs a statement. *sql.DB, *sql.Tx and *sql.Conn all satisfy it.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Dialect is one database family's share of the outbox schema and queries.
// Implementations are stateless and safe for concurrent use.
type Dialect interface {
	// Name is the configuration name, such as "postgres".
	Name() string
	// SchemaAdapter is watermill-sql's default messages-table adapter.
	SchemaAdapter() wsql.SchemaAdapter
	// OffsetsAdapter is watermill-sql's default offsets-table adapter.
	OffsetsAdapter() wsql.OffsetsAdapter
	// DeadLetterSchema returns the statements that create DeadLetterTable
	// if it is missing. They are idempotent.
	DeadLetterSchema() []string
	// DeadLetterInsert is an INSERT into DeadLetterTable taking, in order:
	// original_offset, sql_topic, destination_topic, uuid, payload,
	// metadata, reason. Inserting the same (sql_topic, original_offset)
	// twice keeps the first row and is not an error.
	DeadLetterInsert() string
	// WithMigrationLock runs fn while holding a database-wide lock that
	// only migrations take, so concurrent migrations run one at a time.
	// fn must run its statements on the Execer it is given.
	WithMigrationLock(ctx context.Context, db *sql.DB, fn func(context.Context, Execer) error) error
	// NotifyQuery is a statement taking (channel, payload) that wakes
	// listeners when the surrounding transaction commits, or "" when the
	// dialect has no such mechanism.
	NotifyQuery() string
}

var dialects = map[string]Dialect{
	Postgres: postgres{},
	MySQL:    mysqlDialect{},
}

// Get returns the dialect with the given configuration name.
func Get(name string) (Dialect, error) {
	d, ok := dialects[name]
	if !ok {
		return nil, fmt.Errorf("sqldialect: %q (known: %v): %w", name, Names(), ErrUnknownDialect)
	}
	return d, nil
}

// Names lists the supported dialect names in sorted order.
func Names() []string {
	names := make([]string, 0, len(dialects))
	for n := range dialects {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// migrationLockName identifies the migration lock on every dialect.
const migrationLockName = "watermill_outbox_migrate"

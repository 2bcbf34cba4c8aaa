package forwarder

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/watermill-outbox/watermill-outbox/internal/sqldialect"
)

// DeadLetterTable is the table that receives rows the forwarder can never
// publish, with the reason: sqldialect.DeadLetterTable, created by
// publisher.Migrate. It is keyed by (sql_topic, original_offset), so a row
// dead-lettered twice (after a crash before the commit) is stored once.
const DeadLetterTable = sqldialect.DeadLetterTable

// position is how far a consumer group has acknowledged a shard: the
// transaction id (PostgreSQL only, 0 on MySQL) and the offset of the last
// acknowledged row.
type position struct {
	TxID   int64
	Offset int64
}

// row is one outbox row as the forwarder reads it.
type row struct {
	Pos      position
	UUID     string
	Payload  []byte
	Metadata []byte
}

// deadLetter is one row written to DeadLetterTable.
type deadLetter struct {
	SQLTopic, UUID, Destination, Reason string
	Row                                 row
}

// insertDeadLetter records a row that cannot be published, with the
// statement of the project's SQL dialect. Values longer than their columns
// are cut.
func insertDeadLetter(ctx context.Context, tx querier, d dialect, dl deadLetter) error {
	sd, err := sqldialect.Get(d.name())
	if err != nil {
		return fmt.Errorf("forwarder: dead letter: %w", err)
	}
	var metadata any
	if len(dl.Row.Metadata) > 0 {
		metadata = string(dl.Row.Metadata)
	}
	_, err = tx.ExecContext(ctx, sd.DeadLetterInsert(), dl.Row.Pos.Offset, dl.SQLTopic,
		cut(dl.Destination, 255), cut(dl.UUID, 36), dl.Row.Payload, metadata, dl.Reason)
	if err != nil {
		return fmt.Errorf("forwarder: insert dead letter of %q at %d: %w", dl.SQLTopic,
			dl.Row.Pos.Offset, err)
	}
	return nil
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// dialect holds every SQL statement the forwarder runs, one implementation
// per database, over watermill-sql's default table layout.
type dialect interface {
	// txOptions is the isolation level of a batch transaction.
	txOptions() *sql.TxOptions
	// ensureGroup inserts the group's zero position if it has none.
	ensureGroup(ctx context.Context, q querier, topic, group string) error
	// probe reports cheaply whether the shard has rows ready to send, and
	// whether it has pending rows at all (some may not be readable yet).
	probe(ctx context.Context, q querier, topic, group string) (ready, pending bool, err error)
	// lock locks the group's offsets row, skipping it when another
	// transaction holds it (ok false).
	lock(ctx context.Context, tx querier, topic, group string) (pos position, ok bool, err error)
	// read returns up to limit visible rows after pos, in commit order.
	read(ctx context.Context, tx querier, topic string, after position, limit int) ([]row, error)
	// ack stores pos as the group's position.
	ack(ctx context.Context, tx querier, topic, group string, pos position) error
	// retain deletes rows older than age that every consumer group has
	// acknowledged, among the limit first rows in key order (so each call
	// does bounded work, and stops early at the first young rows).
	retain(ctx context.Context, q querier, topic string, age time.Duration,
		limit int) (int64, error)
	// status measures a shard's backlog for the group.
	status(ctx context.Context, q querier, topic, group string) (ShardStatus, error)
	// name is the dialect's configuration name.
	name() string
}

func newDialect(name string) (dialect, error) {
	switch name {
	case DialectPostgres:
		return postgres{}, nil
	case DialectMySQL:
		return mysql{}, nil
	}
	return nil, fmt.Errorf("forwarder: unknown dialect %q", name)
}

func countDeadLetters(ctx context.Context, q querier, d dialect, topic string) (int64, error) {
	query := "SELECT count(*) FROM " + DeadLetterTable + " WHERE sql_topic = ?"
	if _, ok := d.(postgres); ok {
		query = "SELECT count(*) FROM " + DeadLetterTable + " WHERE sql_topic = $1"
	}
	var n int64
	if err := q.QueryRowContext(ctx, query, topic).Scan(&n); err != nil {
		return 0, fmt.Errorf("forwarder: count dead letters of %q: %w", topic, err)
	}
	return n, nil
}

package forwarder

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
)

// mysql reads watermill-sql's DefaultMySQLSchema tables, ordered by the
// auto-increment offset. The batch transaction runs at READ COMMITTED and
// reads with LOCK IN SHARE MODE: the read waits for a publishing
// transaction that inserted a lower offset and has not committed yet
// (instead of skipping past its row), and takes no gap locks, so
// publishers are never blocked by the forwarder.
type mysql struct{}

func (mysql) tables(topic string) (msgs, offs string) {
	return wsql.DefaultMySQLSchema{}.MessagesTable(topic),
		wsql.DefaultMySQLOffsetsAdapter{}.MessagesOffsetsTable(topic)
}

func (mysql) txOptions() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelReadCommitted}
}

func (m mysql) ensureGroup(ctx context.Context, q querier, topic, group string) error {
	_, offs := m.tables(topic)
	_, err := q.ExecContext(ctx, "INSERT IGNORE INTO "+offs+
		" (consumer_group, offset_acked, offset_consumed) VALUES (?, 0, 0)", group)
	if err != nil {
		return fmt.Errorf("forwarder: insert offsets of %q for group %q: %w", topic, group, err)
	}
	return nil
}

func (m mysql) probe(ctx context.Context, q querier, topic, group string) (bool, bool, error) {
	msgs, offs := m.tables(topic)
	var ok bool
	err := q.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM "+msgs+
		" WHERE `offset` > COALESCE((SELECT offset_acked FROM "+offs+
		" WHERE consumer_group = ?), 0))", group).Scan(&ok)
	if err != nil {
		return false, false, fmt.Errorf("forwarder: probe %q: %w", topic, err)
	}
	return ok, ok, nil
}

func (m mysql) lock(ctx context.Context, tx querier, topic, group string) (position, bool, error) {
	_, offs := m.tables(topic)
	var acked sql.NullInt64
	err := tx.QueryRowContext(ctx, "SELECT offset_acked FROM "+offs+
		" WHERE consumer_group = ? FOR UPDATE SKIP LOCKED", group).Scan(&acked)
	if errors.Is(err, sql.ErrNoRows) {
		return position{}, false, nil
	}
	if err != nil {
		return position{}, false, fmt.Errorf("forwarder: lock offsets of %q: %w", topic, err)
	}
	return position{Offset: acked.Int64}, true, nil
}

func (m mysql) read(ctx context.Context, tx querier, topic string, after position,
	limit int) ([]row, error) {
	msgs, _ := m.tables(topic)
	rows, err := tx.QueryContext(ctx, "SELECT `offset`, uuid, payload, metadata FROM "+msgs+
		" WHERE `offset` > ? ORDER BY `offset` LIMIT ? LOCK IN SHARE MODE", after.Offset, limit)
	if err != nil {
		return nil, fmt.Errorf("forwarder: read %q: %w", topic, err)
	}
	return scanRows(topic, rows, func(r *row, s *sql.Rows) error {
		return s.Scan(&r.Pos.Offset, &r.UUID, &r.Payload, &r.Metadata)
	})
}

func (m mysql) ack(ctx context.Context, tx querier, topic, group string, pos position) error {
	_, offs := m.tables(topic)
	_, err := tx.ExecContext(ctx, "UPDATE "+offs+
		" SET offset_acked = ?, offset_consumed = ? WHERE consumer_group = ?",
		pos.Offset, pos.Offset, group)
	if err != nil {
		return fmt.Errorf("forwarder: ack %q at %d: %w", topic, pos.Offset, err)
	}
	return nil
}

func (m mysql) retain(ctx context.Context, q querier, topic string, age time.Duration,
	limit int) (int64, error) {
	msgs, offs := m.tables(topic)
	var low sql.NullInt64
	err := q.QueryRowContext(ctx, "SELECT MIN(COALESCE(offset_acked, 0)) FROM "+offs).Scan(&low)
	if err != nil {
		return 0, fmt.Errorf("forwarder: read lowest offset of %q: %w", topic, err)
	}
	if !low.Valid {
		return 0, nil
	}
	var upTo sql.NullInt64
	err = q.QueryRowContext(ctx, "SELECT MAX(`offset`) FROM (SELECT `offset`, created_at FROM "+
		msgs+" WHERE `offset` <= ? ORDER BY `offset` LIMIT ?) AS oldest"+
		" WHERE created_at < NOW(6) - INTERVAL ? MICROSECOND",
		low.Int64, limit, age.Microseconds()).Scan(&upTo)
	if err != nil || !upTo.Valid {
		return 0, wrapErr(err, "forwarder: find old rows of %q", topic)
	}
	res, err := q.ExecContext(ctx, "DELETE FROM "+msgs+" WHERE `offset` <= ?"+
		" AND created_at < NOW(6) - INTERVAL ? MICROSECOND", upTo.Int64, age.Microseconds())
	if err != nil {
		return 0, fmt.Errorf("forwarder: delete old rows of %q: %w", topic, err)
	}
	return res.RowsAffected()
}

// wrapErr wraps err with a formatted message, or returns nil for nil.
func wrapErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

func (m mysql) status(ctx context.Context, q querier, topic, group string) (ShardStatus, error) {
	msgs, offs := m.tables(topic)
	st := ShardStatus{Topic: topic}
	var age sql.NullFloat64
	err := q.QueryRowContext(ctx, "SELECT COUNT(*), "+
		"TIMESTAMPDIFF(MICROSECOND, MIN(created_at), NOW(6)) / 1000000 FROM "+msgs+
		" WHERE `offset` > COALESCE((SELECT offset_acked FROM "+offs+
		" WHERE consumer_group = ?), 0)", group).Scan(&st.Backlog, &age)
	if err != nil {
		return st, fmt.Errorf("forwarder: status of %q: %w", topic, err)
	}
	st.OldestPending = time.Duration(age.Float64 * float64(time.Second))
	return st, nil
}

func (mysql) name() string { return DialectMySQL }

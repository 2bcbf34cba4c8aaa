package forwarder

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
)

// postgres reads watermill-sql's DefaultPostgreSQLSchema tables. Rows are
// ordered by (transaction_id, offset), and only rows of transactions older
// than every open transaction (transaction_id < pg_snapshot_xmin) are read,
// the rule watermill-sql's subscriber follows: a transaction that commits
// later may still hold a smaller transaction id, and reading past it would
// skip its rows forever.
type postgres struct{}

func (postgres) tables(topic string) (msgs, offs string) {
	return wsql.DefaultPostgreSQLSchema{}.MessagesTable(topic),
		wsql.DefaultPostgreSQLOffsetsAdapter{}.MessagesOffsetsTable(topic)
}

func (postgres) txOptions() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelReadCommitted}
}

func (p postgres) ensureGroup(ctx context.Context, q querier, topic, group string) error {
	_, offs := p.tables(topic)
	_, err := q.ExecContext(ctx, `INSERT INTO `+offs+
		` (consumer_group, offset_acked, last_processed_transaction_id)
		VALUES ($1, 0, '0') ON CONFLICT DO NOTHING`, group)
	if err != nil {
		return fmt.Errorf("forwarder: insert offsets of %q for group %q: %w", topic, group, err)
	}
	return nil
}

func (p postgres) probe(ctx context.Context, q querier, topic, group string) (bool, bool, error) {
	msgs, offs := p.tables(topic)
	// The first pending row in key order has the smallest transaction id:
	// if it is not visible, none is. ORDER BY ... LIMIT 1 in a scalar
	// subquery makes the planner walk the primary key.
	var ready, pending bool
	err := q.QueryRowContext(ctx, `WITH o AS (SELECT
			COALESCE((SELECT last_processed_transaction_id FROM `+offs+`
				WHERE consumer_group = $1), '0'::xid8) AS t,
			COALESCE((SELECT offset_acked FROM `+offs+` WHERE consumer_group = $1), 0) AS off),
		f AS (SELECT (SELECT m.transaction_id FROM `+msgs+` m
			WHERE (m.transaction_id, m."offset") > (o.t, o.off)
			ORDER BY m.transaction_id, m."offset" LIMIT 1) AS t FROM o)
		SELECT f.t IS NOT NULL, COALESCE(f.t < pg_snapshot_xmin(pg_current_snapshot()), false)
		FROM f`, group).Scan(&pending, &ready)
	if err != nil {
		return false, false, fmt.Errorf("forwarder: probe %q: %w", topic, err)
	}
	return ready, pending, nil
}

func (p postgres) lock(ctx context.Context, tx querier, topic,
	group string) (position, bool, error) {
	_, offs := p.tables(topic)
	var pos position
	var acked sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT offset_acked, last_processed_transaction_id
		FROM `+offs+` WHERE consumer_group = $1 FOR UPDATE SKIP LOCKED`, group).
		Scan(&acked, &pos.TxID)
	if errors.Is(err, sql.ErrNoRows) {
		return pos, false, nil
	}
	if err != nil {
		return pos, false, fmt.Errorf("forwarder: lock offsets of %q: %w", topic, err)
	}
	pos.Offset = acked.Int64
	return pos, true, nil
}

func (p postgres) read(ctx context.Context, tx querier, topic string, after position,
	limit int) ([]row, error) {
	msgs, _ := p.tables(topic)
	rows, err := tx.QueryContext(ctx, `SELECT "offset", transaction_id, uuid, payload, metadata
		FROM `+msgs+` WHERE (transaction_id, "offset") > ($1, $2)
		AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY transaction_id, "offset" LIMIT $3`, after.TxID, after.Offset, limit)
	if err != nil {
		return nil, fmt.Errorf("forwarder: read %q: %w", topic, err)
	}
	return scanRows(topic, rows, func(r *row, s *sql.Rows) error {
		return s.Scan(&r.Pos.Offset, &r.Pos.TxID, &r.UUID, &r.Payload, &r.Metadata)
	})
}

func scanRows(topic string, rows *sql.Rows, scan func(*row, *sql.Rows) error) ([]row, error) {
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		if err := scan(&r, rows); err != nil {
			return nil, fmt.Errorf("forwarder: scan row of %q: %w", topic, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("forwarder: read %q: %w", topic, err)
	}
	return out, nil
}

func (p postgres) ack(ctx context.Context, tx querier, topic, group string, pos position) error {
	_, offs := p.tables(topic)
	_, err := tx.ExecContext(ctx, `UPDATE `+offs+`
		SET offset_acked = $1, last_processed_transaction_id = $2
		WHERE consumer_group = $3`, pos.Offset, pos.TxID, group)
	if err != nil {
		return fmt.Errorf("forwarder: ack %q at %d: %w", topic, pos.Offset, err)
	}
	return nil
}

func (p postgres) retain(ctx context.Context, q querier, topic string, age time.Duration,
	limit int) (int64, error) {
	msgs, offs := p.tables(topic)
	res, err := q.ExecContext(ctx, `WITH low AS (
			SELECT last_processed_transaction_id AS t, COALESCE(offset_acked, 0) AS o
			FROM `+offs+` ORDER BY 1, 2 LIMIT 1),
		oldest AS (
			SELECT m.transaction_id, m."offset" FROM `+msgs+` m, low
			WHERE (m.transaction_id, m."offset") <= (low.t, low.o)
			ORDER BY m.transaction_id, m."offset" LIMIT $2)
		DELETE FROM `+msgs+` m USING oldest d
		WHERE m.transaction_id = d.transaction_id AND m."offset" = d."offset"
		AND m.created_at < LOCALTIMESTAMP - make_interval(secs => $1)`,
		age.Seconds(), limit)
	if err != nil {
		return 0, fmt.Errorf("forwarder: delete old rows of %q: %w", topic, err)
	}
	return res.RowsAffected()
}

// status reads the position first and then measures with it as parameters,
// so the planner sees real values and scans only the pending part of the
// primary key.
func (p postgres) status(ctx context.Context, q querier, topic, group string) (ShardStatus, error) {
	msgs, offs := p.tables(topic)
	st := ShardStatus{Topic: topic}
	var pos position
	var acked sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT last_processed_transaction_id, offset_acked FROM `+
		offs+` WHERE consumer_group = $1`, group).Scan(&pos.TxID, &acked)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("forwarder: status of %q: %w", topic, err)
	}
	pos.Offset = acked.Int64
	var age sql.NullFloat64
	var blocked sql.NullBool
	err = q.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM `+msgs+` WHERE (transaction_id, "offset") > ($1, $2)),
		(SELECT EXTRACT(EPOCH FROM LOCALTIMESTAMP - created_at) FROM `+msgs+`
			WHERE (transaction_id, "offset") > ($1, $2)
			ORDER BY transaction_id, "offset" LIMIT 1),
		(SELECT transaction_id >= pg_snapshot_xmin(pg_current_snapshot()) FROM `+msgs+`
			WHERE (transaction_id, "offset") > ($1, $2)
			ORDER BY transaction_id, "offset" LIMIT 1)`, pos.TxID, pos.Offset).
		Scan(&st.Backlog, &age, &blocked)
	if err != nil {
		return st, fmt.Errorf("forwarder: status of %q: %w", topic, err)
	}
	st.OldestPending = time.Duration(max(age.Float64, 0) * float64(time.Second))
	st.BlockedByOpenTx = blocked.Bool
	return st, nil
}

func (postgres) name() string { return DialectPostgres }

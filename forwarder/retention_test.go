package forwarder_test

import (
	"testing"
	"time"

	"github.com/watermill-outbox/watermill-outbox/forwarder"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// TestRetentionDeletesOnlyAckedOldRows: with a second consumer group that
// acknowledged only the first three rows, retention deletes exactly those
// three once they are old enough, and nothing while they are young.
func TestRetentionDeletesOnlyAckedOldRows(t *testing.T) {
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) { testRetention(t, d) })
	}
}

func testRetention(t *testing.T, dialect string) {
	e := newEnv(t, dialect, 1, 1)
	for i := range 5 {
		e.publish(e.outbox, msg("k", i))
	}
	offsets, txids := e.rowPositions()
	e.exec(insertGroup(dialect), "other", offsets[2], txids[2])
	e.publish(e.outbox, msg("k", 5), msg("k", 6))

	cfg := e.config()
	cfg.Retention, cfg.RetentionInterval, cfg.RetentionBatch = time.Hour, 20*time.Millisecond, 1
	f, err := forwarder.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx(t)) }()
	if got := consume(t, e.brokers, e.kafka, 7, 20*time.Second); len(got) != 7 {
		t.Fatalf("got %d records, want 7", len(got))
	}
	time.Sleep(200 * time.Millisecond)
	stop(t, f, done)
	if left, _ := e.rowPositions(); len(left) != 7 {
		t.Fatalf("%d rows left with a retention of 1h, want 7", len(left))
	}

	cfg.Retention = time.Millisecond
	start(t, cfg)
	eventually(t, 10*time.Second, "rows acked by every group deleted", func() bool {
		left, _ := e.rowPositions()
		return len(left) == 4
	})
	time.Sleep(200 * time.Millisecond)
	if left, _ := e.rowPositions(); len(left) != 4 || left[0] != offsets[3] {
		t.Fatalf("rows left %v, want the 4 from offset %d on", left, offsets[3])
	}
}

func insertGroup(dialect string) string {
	if dialect == forwarder.DialectPostgres {
		return `INSERT INTO "watermill_offsets_outbox"
			(consumer_group, offset_acked, last_processed_transaction_id)
			VALUES ($1, $2, $3::bigint::text::xid8)`
	}
	return "INSERT INTO `watermill_offsets_outbox`" +
		" (consumer_group, offset_acked, offset_consumed) VALUES (?, ?, ?)"
}

// rowPositions lists the outbox rows' offsets and transaction ids (the
// offsets again on MySQL) in reading order.
func (e *env) rowPositions() (offsets, txids []int64) {
	e.t.Helper()
	q := "SELECT `offset`, `offset` FROM `watermill_outbox` ORDER BY `offset`"
	if e.db.Dialect == forwarder.DialectPostgres {
		q = `SELECT "offset", transaction_id::text::bigint FROM "watermill_outbox"
			ORDER BY transaction_id, "offset"`
	}
	rows, err := e.db.DB.QueryContext(ctx(e.t), q)
	if err != nil {
		e.t.Fatalf("read rows: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var o, x int64
		if err := rows.Scan(&o, &x); err != nil {
			e.t.Fatal(err)
		}
		offsets, txids = append(offsets, o), append(txids, x)
	}
	return offsets, txids
}

func (e *env) exec(query string, args ...any) {
	e.t.Helper()
	if _, err := e.db.DB.ExecContext(ctx(e.t), query, args...); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
}

package publisher

import (
	"context"
	"database/sql"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// envelopeRow is one outbox row with its forwarder envelope decoded. The
// JSON names are those of Watermill's forwarder component envelope.
type envelopeRow struct {
	Offset   int64
	RowUUID  string
	Envelope struct {
		DestinationTopic string            `json:"destination_topic"`
		UUID             string            `json:"uuid"`
		Payload          []byte            `json:"payload"`
		Metadata         map[string]string `json:"metadata"`
	}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// migratedDB returns a fresh database of dialect with the outbox tables of
// topics created.
func migratedDB(t testing.TB, dialect string, topics ...string) *sql.DB {
	t.Helper()
	db := testenv.Open(t, dialect).DB
	if err := Migrate(testCtx(t), db, dialect, topics...); err != nil {
		t.Fatalf("migrate %v: %v", topics, err)
	}
	return db
}

func newTestOutbox(t testing.TB, cfg OutboxConfig) *Outbox {
	t.Helper()
	o, err := NewOutbox(cfg, nil)
	if err != nil {
		t.Fatalf("new outbox: %v", err)
	}
	return o
}

func messagesTable(dialect, sqlTopic string) string {
	if dialect == "postgres" {
		return `"watermill_` + sqlTopic + `"`
	}
	return "`watermill_" + sqlTopic + "`"
}

// readOutbox returns the rows of one SQL topic in offset order.
func readOutbox(t testing.TB, db *sql.DB, dialect, sqlTopic string) []envelopeRow {
	t.Helper()
	q := "SELECT " + quote(dialect, "offset") + ", uuid, payload FROM " +
		messagesTable(dialect, sqlTopic) + " ORDER BY " + quote(dialect, "offset")
	rows, err := db.QueryContext(testCtx(t), q)
	if err != nil {
		t.Fatalf("read %s: %v", sqlTopic, err)
	}
	defer rows.Close()
	var out []envelopeRow
	for rows.Next() {
		var r envelopeRow
		var payload []byte
		if err := rows.Scan(&r.Offset, &r.RowUUID, &payload); err != nil {
			t.Fatalf("scan %s: %v", sqlTopic, err)
		}
		if err := json.Unmarshal(payload, &r.Envelope); err != nil {
			t.Fatalf("row %d of %s is no envelope: %v (%s)", r.Offset, sqlTopic, err, payload)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows of %s: %v", sqlTopic, err)
	}
	return out
}

func quote(dialect, ident string) string {
	if dialect == "postgres" {
		return `"` + ident + `"`
	}
	return "`" + ident + "`"
}

// tableNames lists the tables of the current database, sorted.
func tableNames(t testing.TB, db *sql.DB, dialect string) []string {
	t.Helper()
	q := `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()`
	if dialect == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`
	}
	rows, err := db.QueryContext(testCtx(t), q)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatalf("scan table name: %v", err)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func newMsg(uuid, payload string, meta map[string]string) *message.Message {
	m := message.NewMessage(uuid, []byte(payload))
	for k, v := range meta {
		m.Metadata.Set(k, v)
	}
	return m
}

func beginTx(t testing.TB, db *sql.DB) *sql.Tx {
	t.Helper()
	tx, err := db.BeginTx(testCtx(t), nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	return tx
}

func eachDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}

func mustContain(t testing.TB, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Fatalf("error %v does not mention %q", err, p)
		}
	}
}

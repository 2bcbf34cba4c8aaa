package integration

import (
	"context"
	stdsql "database/sql"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// TestOutboxRowMatchesStockComposition writes the same message once through
// publisher.Outbox and once through the stock composition the benchmarks
// fill with (Watermill's forwarder envelope over watermill-sql's publisher),
// and requires the two rows to carry the same envelope, so the benchmarks'
// backlog is exactly what services write.
func TestOutboxRowMatchesStockComposition(t *testing.T) {
	for _, dialect := range testenv.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := testenv.Open(t, dialect)
			migrateOutbox(t, db.DB, dialect)
			msg := testMessage(7)
			msg.Metadata.Set("trace", "abc")
			outbox, err := publisher.NewOutbox(publisher.OutboxConfig{Dialect: dialect}, nil)
			if err != nil {
				t.Fatal(err)
			}
			inTx(t, db, func(tx *stdsql.Tx) error {
				return outbox.Publish(context.Background(), tx, "orders", msg.Copy())
			})
			inTx(t, db, func(tx *stdsql.Tx) error {
				pub, err := outboxWriter(tx, dialect)
				if err != nil {
					return err
				}
				return pub.Publish("orders", msg.Copy())
			})
			rows := storedEnvelopes(t, db)
			if len(rows) != 2 {
				t.Fatalf("%d outbox rows, want 2", len(rows))
			}
			if !reflect.DeepEqual(rows[0], rows[1]) {
				t.Fatalf("outbox row %+v differs from stock row %+v", rows[0], rows[1])
			}
			if rows[0].UUID != msg.UUID || rows[0].Destination != "orders" {
				t.Fatalf("envelope %+v does not carry message %s for orders", rows[0], msg.UUID)
			}
		})
	}
}

// inTx runs fn in a transaction on db and commits it.
func inTx(t *testing.T, db *testenv.DB, fn func(*stdsql.Tx) error) {
	t.Helper()
	tx, err := db.DB.Begin()
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		t.Fatalf("publish: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

// fullEnvelope is Watermill's forwarder envelope as stored in an outbox row.
type fullEnvelope struct {
	Destination string           `json:"destination_topic"`
	UUID        string           `json:"uuid"`
	Payload     []byte           `json:"payload"`
	Metadata    message.Metadata `json:"metadata"`
	// RowMetadata is the row's own metadata column (the envelope message's).
	RowMetadata map[string]string `json:"-"`
}

// offsetColumn is the quoted offset column of the dialect.
func offsetColumn(dialect string) string {
	if dialect == "mysql" {
		return "`offset`"
	}
	return `"offset"`
}

func storedEnvelopes(t *testing.T, db *testenv.DB) []fullEnvelope {
	t.Helper()
	q := "SELECT payload, metadata FROM watermill_outbox ORDER BY " + offsetColumn(db.Dialect)
	rows, err := db.DB.Query(q)
	if err != nil {
		t.Fatalf("read outbox: %v", err)
	}
	defer rows.Close()
	var out []fullEnvelope
	for rows.Next() {
		var raw, meta []byte
		var e fullEnvelope
		if err := rows.Scan(&raw, &meta); err != nil {
			t.Fatalf("scan outbox row: %v", err)
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("decode envelope %q: %v", raw, err)
		}
		if err := json.Unmarshal(meta, &e.RowMetadata); err != nil {
			t.Fatalf("decode row metadata %q: %v", meta, err)
		}
		out = append(out, e)
	}
	return out
}

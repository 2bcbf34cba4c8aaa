package integration

import (
	"context"
	stdsql "database/sql"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	wmforwarder "github.com/ThreeDotsLabs/watermill/components/forwarder"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// outboxTopic is the SQL topic of the outbox: the table is watermill_outbox
// and its offsets table watermill_offsets_outbox, as with config's default.
const outboxTopic = "outbox"

// fillTxRows and fillStmtRows bound one fill transaction and one INSERT.
const (
	fillTxRows   = 10000
	fillStmtRows = 1000
)

// schemaAdapter is watermill-sql's default schema for the dialect.
func schemaAdapter(dialect string) wsql.SchemaAdapter {
	if dialect == "mysql" {
		return wsql.DefaultMySQLSchema{}
	}
	return wsql.DefaultPostgreSQLSchema{}
}

// offsetsAdapter is watermill-sql's default offsets adapter for the dialect.
func offsetsAdapter(dialect string) wsql.OffsetsAdapter {
	if dialect == "mysql" {
		return wsql.DefaultMySQLOffsetsAdapter{}
	}
	return wsql.DefaultPostgreSQLOffsetsAdapter{}
}

// migrateOutbox creates the outbox, offsets and dead-letter tables with
// publisher.Migrate: watermill-sql's default schema, which both the stock
// subscriber and ours read.
func migrateOutbox(t testing.TB, db *stdsql.DB, dialect string) {
	t.Helper()
	if err := publisher.Migrate(context.Background(), db, dialect, outboxTopic); err != nil {
		t.Fatalf("migrate outbox: %v", err)
	}
}

// outboxWriter publishes into the outbox inside tx exactly as a service
// does: Watermill's forwarder envelope over watermill-sql's publisher.
func outboxWriter(tx *stdsql.Tx, dialect string) (message.Publisher, error) {
	pub, err := wsql.NewPublisher(tx, wsql.PublisherConfig{
		SchemaAdapter: schemaAdapter(dialect),
	}, watermill.NopLogger{})
	if err != nil {
		return nil, fmt.Errorf("sql publisher: %w", err)
	}
	return wmforwarder.NewPublisher(pub, wmforwarder.PublisherConfig{
		ForwarderTopic: outboxTopic,
	}), nil
}

// testMessage is message i of a run: a fresh UUID and a payload naming i,
// padded to about 200 bytes, a typical small event.
func testMessage(i int) *message.Message {
	payload := `{"seq":` + strconv.Itoa(i) + `,"pad":"` + strings.Repeat("x", 180) + `"}`
	return message.NewMessage(watermill.NewUUID(), []byte(payload))
}

// fillOutbox commits n messages for kafkaTopic into the outbox, in
// transactions of fillTxRows and multi-row INSERTs of fillStmtRows, and
// returns their UUIDs and payloads by UUID.
func fillOutbox(t testing.TB, db *stdsql.DB, dialect, kafkaTopic string,
	n int) map[string]string {
	t.Helper()
	sent := make(map[string]string, n)
	for done := 0; done < n; done += fillTxRows {
		rows := min(fillTxRows, n-done)
		if err := fillTx(db, dialect, kafkaTopic, done, rows, sent); err != nil {
			t.Fatalf("fill outbox: %v", err)
		}
	}
	return sent
}

func fillTx(db *stdsql.DB, dialect, kafkaTopic string, first, rows int,
	sent map[string]string) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	pub, err := outboxWriter(tx, dialect)
	if err != nil {
		return err
	}
	for done := 0; done < rows; done += fillStmtRows {
		msgs := make([]*message.Message, 0, fillStmtRows)
		for i := done; i < min(done+fillStmtRows, rows); i++ {
			m := testMessage(first + i)
			sent[m.UUID] = string(m.Payload)
			msgs = append(msgs, m)
		}
		if err := pub.Publish(kafkaTopic, msgs...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

package publisher

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// benchRounds is how many transactions of each kind one benchmark
// iteration runs, interleaved so that drift affects both alike.
const benchRounds = 50

// BenchmarkOutboxWrite measures what the outbox adds to a business
// transaction: one that inserts a row and commits, against the same plus
// one outbox message (and, on PostgreSQL, the same without pg_notify). The
// ratios of median transaction times, outbox/bare and outbox-nonotify/bare,
// are the results; absolute times depend on the machine's disk.
func BenchmarkOutboxWrite(b *testing.B) {
	for _, d := range testenv.Dialects {
		b.Run(d, func(b *testing.B) { benchOutboxWrite(b, d) })
	}
}

func benchOutboxWrite(b *testing.B, dialect string) {
	db := migratedDB(b, dialect)
	ddl := `CREATE TABLE orders (id VARCHAR(36) PRIMARY KEY, amount BIGINT)`
	if _, err := db.Exec(ddl); err != nil {
		b.Fatalf("create business table: %v", err)
	}
	withNotify := newTestOutbox(b, OutboxConfig{Dialect: dialect})
	noNotify := newTestOutbox(b, OutboxConfig{Dialect: dialect, DisablePostgresNotify: true})
	var bare, outbox, quiet []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < benchRounds; r++ {
			bare = append(bare, timeBusinessTx(b, db, dialect, nil))
			outbox = append(outbox, timeBusinessTx(b, db, dialect, withNotify))
			if dialect == "postgres" {
				quiet = append(quiet, timeBusinessTx(b, db, dialect, noNotify))
			}
		}
	}
	b.StopTimer()
	base := median(bare)
	b.ReportMetric(float64(base.Nanoseconds()), "ns/bare-tx")
	b.ReportMetric(float64(median(outbox).Nanoseconds()), "ns/outbox-tx")
	b.ReportMetric(float64(median(outbox))/float64(base), "outbox/bare")
	if dialect == "postgres" {
		b.ReportMetric(float64(median(quiet))/float64(base), "outbox-nonotify/bare")
	}
}

// median is the middle duration; it keeps a stray slow commit (another
// process flushing the disk) from skewing a ratio.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// timeBusinessTx runs one transaction inserting an order and, when o is
// set, publishing one event about it through o, and returns its duration.
func timeBusinessTx(b *testing.B, db *sql.DB, dialect string, o *Outbox) time.Duration {
	ctx := context.Background()
	id := watermill.NewUUID()
	start := time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatalf("begin: %v", err)
	}
	if _, err := tx.ExecContext(ctx, insertOrder(dialect), id, 42); err != nil {
		b.Fatalf("insert order: %v", err)
	}
	if o != nil {
		msg := message.NewMessage(watermill.NewUUID(), []byte(`{"order":"`+id+`"}`))
		msg.Metadata.Set(MetadataPartitionKey, id)
		if err := o.Publish(ctx, tx, "orders", msg); err != nil {
			b.Fatalf("publish: %v", err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatalf("commit: %v", err)
	}
	return time.Since(start)
}

func insertOrder(dialect string) string {
	if dialect == "postgres" {
		return `INSERT INTO orders (id, amount) VALUES ($1, $2)`
	}
	return `INSERT INTO orders (id, amount) VALUES (?, ?)`
}

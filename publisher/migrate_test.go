package publisher

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"

	"github.com/watermill-outbox/watermill-outbox/internal/sqldialect"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

func TestMigrateCreatesTablesIdempotently(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		db := testenv.Open(t, dialect).DB
		topics := []string{"outbox", "a.b-c:d$e"}
		for i := 0; i < 2; i++ {
			if err := Migrate(testCtx(t), db, dialect, topics...); err != nil {
				t.Fatalf("migrate run %d: %v", i+1, err)
			}
		}
		want := []string{"watermill_a.b-c:d$e", "watermill_offsets_a.b-c:d$e",
			"watermill_offsets_outbox", "watermill_outbox", sqldialect.DeadLetterTable}
		if got := tableNames(t, db, dialect); !reflect.DeepEqual(got, want) {
			t.Fatalf("tables = %v, want %v", got, want)
		}
	})
}

// TestMigrateMatchesWatermillLayout compares the columns Migrate creates
// with those watermill-sql's own subscriber creates for another topic.
func TestMigrateMatchesWatermillLayout(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		db := migratedDB(t, dialect, "ours")
		d, _ := sqldialect.Get(dialect)
		sub, err := wsql.NewSubscriber(db, wsql.SubscriberConfig{
			SchemaAdapter: d.SchemaAdapter(), OffsetsAdapter: d.OffsetsAdapter(),
			InitializeSchema: true,
		}, nil)
		if err != nil {
			t.Fatalf("subscriber: %v", err)
		}
		defer sub.Close()
		if err := sub.SubscribeInitialize("theirs"); err != nil {
			t.Fatalf("watermill-sql schema init: %v", err)
		}
		for _, prefix := range []string{"watermill_", "watermill_offsets_"} {
			ours := columns(t, db, dialect, prefix+"ours")
			theirs := columns(t, db, dialect, prefix+"theirs")
			if len(ours) == 0 || !reflect.DeepEqual(ours, theirs) {
				t.Fatalf("%s: ours %v, watermill-sql %v", prefix, ours, theirs)
			}
		}
	})
}

func columns(t *testing.T, db *sql.DB, dialect, table string) []string {
	t.Helper()
	q := `SELECT column_name, data_type, is_nullable FROM information_schema.columns
		WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position`
	if dialect == "postgres" {
		q = `SELECT column_name, data_type, is_nullable FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`
	}
	rows, err := db.QueryContext(testCtx(t), q, table)
	if err != nil {
		t.Fatalf("columns of %s: %v", table, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var name, typ, null string
		if err := rows.Scan(&name, &typ, &null); err != nil {
			t.Fatalf("scan column: %v", err)
		}
		cols = append(cols, name+" "+typ+" "+null)
	}
	return cols
}

// TestMigrateConcurrentlyOnFreshDatabase is the start-up race: several
// instances migrating one empty database at the same moment.
func TestMigrateConcurrentlyOnFreshDatabase(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		db := testenv.Open(t, dialect).DB
		db.SetMaxOpenConns(16)
		topics := ShardTopics("outbox", 4)
		const instances = 8
		start := make(chan struct{})
		errs := make([]error, instances)
		var wg sync.WaitGroup
		for i := 0; i < instances; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = Migrate(testCtx(t), db, dialect, topics...)
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("instance %d: %v", i, err)
			}
		}
		if got := len(tableNames(t, db, dialect)); got != 2*len(topics)+1 {
			t.Fatalf("%d tables after concurrent migrations, want %d", got, 2*len(topics)+1)
		}
	})
}

func TestMigrateRejectsInvalidTopicsBeforeSQL(t *testing.T) {
	t.Parallel()
	bad := []string{"a;DROP TABLE x", "a'b", "with space", string(make([]byte, 200))}
	db, opened := tripwireDB(t)
	err := Migrate(testCtx(t), db, "postgres", append([]string{"fine"}, bad...)...)
	if !errors.Is(err, ErrInvalidTopic) {
		t.Fatalf("Migrate = %v, want ErrInvalidTopic", err)
	}
	for _, b := range bad {
		mustContain(t, err, strconv.Quote(b))
	}
	if n := opened.Load(); n != 0 {
		t.Fatalf("driver was asked for %d connections; no SQL may run", n)
	}
	eachDialect(t, func(t *testing.T, dialect string) {
		db := testenv.Open(t, dialect).DB
		before := tableNames(t, db, dialect)
		err := Migrate(testCtx(t), db, dialect, "ok", "a;DROP TABLE x")
		if !errors.Is(err, ErrInvalidTopic) {
			t.Fatalf("Migrate = %v, want ErrInvalidTopic", err)
		}
		if after := tableNames(t, db, dialect); !reflect.DeepEqual(before, after) {
			t.Fatalf("tables changed from %v to %v", before, after)
		}
	})
}

func TestMigrateOutboxCreatesEveryShard(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		db := testenv.Open(t, dialect).DB
		base := "orders_outbox_" + strings.Repeat("x", MaxSQLTopicLength-len("orders_outbox_"))
		cfg := OutboxConfig{Dialect: dialect, ForwarderTopic: base, Shards: 12}
		if err := MigrateOutbox(testCtx(t), db, cfg); err != nil {
			t.Fatalf("migrate outbox: %v", err)
		}
		tables := fmt.Sprint(tableNames(t, db, dialect))
		for _, s := range ShardTopics(base, 12) {
			mustContain(t, errors.New(tables), "watermill_"+s, "watermill_offsets_"+s)
		}
	})
}

// tripwireDB is a *sql.DB whose driver counts connection attempts and
// refuses them all: any SQL run through it fails and is counted.
func tripwireDB(t *testing.T) (*sql.DB, *atomic.Int64) {
	c := &tripwire{}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db, &c.opened
}

type tripwire struct{ opened atomic.Int64 }

func (c *tripwire) Connect(context.Context) (driver.Conn, error) {
	c.opened.Add(1)
	return nil, errors.New("tripwire: no SQL may run")
}

func (c *tripwire) Driver() driver.Driver { return nil }

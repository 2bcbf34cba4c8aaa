package sqldb

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/watermill-outbox/watermill-outbox/internal/sqldialect"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestOpenAppliesPoolAndPings(t *testing.T) {
	for _, dialect := range testenv.Dialects {
		t.Run(dialect, func(t *testing.T) {
			tdb := testenv.Open(t, dialect)
			cfg := Options{Dialect: dialect, DSN: tdb.DSN, MaxOpenConns: 3,
				MaxIdleConns: 2, ConnMaxLifetime: time.Minute}
			db, err := Open(testCtx(t), cfg)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer db.Close()
			if got := db.Stats().MaxOpenConnections; got != 3 {
				t.Fatalf("max open conns = %d, want 3", got)
			}
			if got := db.Stats().OpenConnections; got != 1 {
				t.Fatalf("open connections after ping = %d, want 1", got)
			}
		})
	}
}

// TestOpenMySQLForcesParseTime opens a DSN without parseTime and scans a
// timestamp into time.Time, which fails unless Open turned it on.
func TestOpenMySQLForcesParseTime(t *testing.T) {
	tdb := testenv.MySQL(t)
	mc, err := mysql.ParseDSN(tdb.DSN)
	if err != nil {
		t.Fatalf("parse test dsn: %v", err)
	}
	mc.ParseTime = false
	cfg := Options{Dialect: sqldialect.MySQL, DSN: mc.FormatDSN()}
	db, err := Open(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()
	var now time.Time
	if err := db.QueryRowContext(testCtx(t), "SELECT CURRENT_TIMESTAMP").Scan(&now); err != nil {
		t.Fatalf("scan timestamp: %v", err)
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	_, err := Open(testCtx(t), Options{Dialect: "oracle", DSN: "x"})
	if !errors.Is(err, sqldialect.ErrUnknownDialect) {
		t.Fatalf("unknown dialect: %v", err)
	}
	_, err = Open(testCtx(t), Options{Dialect: sqldialect.Postgres})
	if !errors.Is(err, ErrEmptyDSN) {
		t.Fatalf("empty dsn: %v", err)
	}
}

package sqldb

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/watermill-outbox/watermill-outbox/config"
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
			cfg := config.SQL{Dialect: dialect, DSN: config.Secret(tdb.DSN), MaxOpenConns: 3,
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
	cfg := config.SQL{Dialect: sqldialect.MySQL, DSN: config.Secret(mc.FormatDSN())}
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

func TestOpenErrorsHideThePassword(t *testing.T) {
	dsns := map[string]string{
		sqldialect.Postgres: "postgres://app:s3cretpw@127.0.0.1:1/db" +
			"?sslmode=disable&connect_timeout=2",
		sqldialect.MySQL: "app:s3cretpw@tcp(127.0.0.1:1)/db?timeout=2s",
	}
	for dialect, dsn := range dsns {
		_, err := Open(testCtx(t), config.SQL{Dialect: dialect, DSN: config.Secret(dsn)})
		if err == nil {
			t.Fatalf("%s: open of a closed port succeeded", dialect)
		}
		msg := err.Error()
		if strings.Contains(msg, "s3cretpw") || !strings.Contains(msg, dialect) ||
			!strings.Contains(msg, "127.0.0.1:1") {
			t.Fatalf("%s: error %q must name dialect and address but not the password",
				dialect, msg)
		}
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	_, err := Open(testCtx(t), config.SQL{Dialect: "oracle", DSN: "x"})
	if !errors.Is(err, sqldialect.ErrUnknownDialect) {
		t.Fatalf("unknown dialect: %v", err)
	}
	_, err = Open(testCtx(t), config.SQL{Dialect: sqldialect.Postgres})
	if !errors.Is(err, ErrEmptyDSN) {
		t.Fatalf("empty dsn: %v", err)
	}
}

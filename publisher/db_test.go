package publisher_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

func TestOpenDBUsesTheConfiguredPool(t *testing.T) {
	for _, dialect := range testenv.Dialects {
		t.Run(dialect, func(t *testing.T) {
			tdb := testenv.Open(t, dialect)
			cfg := config.SQL{Dialect: dialect, DSN: config.Secret(tdb.DSN), MaxOpenConns: 4}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			db, err := publisher.OpenDB(ctx, cfg)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer db.Close()
			if got := db.Stats().MaxOpenConnections; got != 4 {
				t.Fatalf("max open conns = %d, want 4", got)
			}
		})
	}
}

func TestOpenDBErrorsHideThePassword(t *testing.T) {
	dsns := map[string]string{
		"postgres": "postgres://app:s3cretpw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"mysql":    "app:s3cretpw@tcp(127.0.0.1:1)/db?timeout=2s",
	}
	for dialect, dsn := range dsns {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := publisher.OpenDB(ctx, config.SQL{Dialect: dialect, DSN: config.Secret(dsn)})
		cancel()
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

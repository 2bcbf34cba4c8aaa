package publisher

import (
	"context"
	"database/sql"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/internal/sqldb"
)

// OpenDB opens the database that holds the outbox (and, usually, the inbox)
// as cfg describes it: the pgx driver for postgres, go-sql-driver/mysql for
// mysql (with parseTime forced on, since the tables hold timestamps), the
// pool sized by cfg, and a ping bounded to 10 s so a wrong address fails
// here rather than at the first query. Errors name the dialect and the DSN
// with its password masked.
func OpenDB(ctx context.Context, cfg config.SQL) (*sql.DB, error) {
	return sqldb.Open(ctx, sqldb.Options{
		Dialect:         cfg.Dialect,
		DSN:             cfg.DSN.Reveal(),
		Display:         cfg.RedactedDSN(),
		MaxOpenConns:    cfg.MaxOpenConns,
		MaxIdleConns:    cfg.MaxIdleConns,
		ConnMaxLifetime: cfg.ConnMaxLifetime,
	})
}

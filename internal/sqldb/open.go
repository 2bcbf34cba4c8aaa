// Package sqldb opens the database/sql pool for a configured dialect: the
// pgx stdlib driver for PostgreSQL and go-sql-driver/mysql for MySQL and
// MariaDB, with the pool limits from configuration and a bounded ping, so a
// wrong address fails at start rather than at the first query.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/watermill-outbox/watermill-outbox/internal/sqldialect"
)

// PingTimeout bounds the ping that Open does when ctx has no earlier
// deadline.
const PingTimeout = 10 * time.Second

// ErrEmptyDSN is returned when the configuration names no database.
var ErrEmptyDSN = errors.New("empty dsn")

// Options says which database to open and how to size the pool.
type Options struct {
	// Dialect is "postgres" or "mysql".
	Dialect string
	// DSN is the driver's connection string, password included.
	DSN string
	// Display is the DSN as errors show it, with its password masked; the
	// caller masks it, since this package knows no configuration types.
	Display string
	// MaxOpenConns, MaxIdleConns and ConnMaxLifetime size the pool as
	// database/sql's setters of the same names do.
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
}

// Open opens a pool for cfg, applies its pool limits and pings the
// database. Errors name the dialect and cfg.Display, never cfg.DSN.
// For MySQL, parseTime=true is forced on, since the outbox tables hold
// timestamps that must scan into time.Time.
func Open(ctx context.Context, cfg Options) (*sql.DB, error) {
	db, err := open(cfg)
	if err != nil {
		return nil, describe(cfg, err)
	}
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxIdleConns)
	db.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	pingCtx, cancel := context.WithTimeout(ctx, PingTimeout)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, describe(cfg, fmt.Errorf("ping: %w", err))
	}
	return db, nil
}

func open(cfg Options) (*sql.DB, error) {
	dsn := cfg.DSN
	if dsn == "" {
		return nil, ErrEmptyDSN
	}
	switch cfg.Dialect {
	case sqldialect.Postgres:
		return sql.Open("pgx", dsn)
	case sqldialect.MySQL:
		return openMySQL(dsn)
	}
	_, err := sqldialect.Get(cfg.Dialect)
	return nil, err
}

// openMySQL parses the DSN, forces parseTime on and opens a pool through
// a connector, so the DSN string never has to be rebuilt.
func openMySQL(dsn string) (*sql.DB, error) {
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse dsn: %w", err)
	}
	mc.ParseTime = true
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("connector: %w", err)
	}
	return sql.OpenDB(conn), nil
}

func describe(cfg Options, err error) error {
	return fmt.Errorf("sqldb: %s database %q: %w", cfg.Dialect, cfg.Display, err)
}

package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// DefaultPostgresDSN is the server used when TEST_POSTGRES_DSN is unset.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DefaultMySQLDSN is the server used when TEST_MYSQL_DSN is unset.
const DefaultMySQLDSN = "root@tcp(127.0.0.1:3306)/test"

// DB is a freshly created database that is dropped when the test ends.
type DB struct {
	// Dialect is "postgres" or "mysql".
	Dialect string
	// DSN connects to the new database.
	DSN string
	// DB is an open pool on DSN, closed when the test ends.
	DB *sql.DB
}

// Postgres creates a uniquely named PostgreSQL database for the test.
func Postgres(t testing.TB) *DB {
	t.Helper()
	admin := envOr("TEST_POSTGRES_DSN", DefaultPostgresDSN)
	name := Unique("wo_test_")
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("TEST_POSTGRES_DSN %q: %v", admin, err)
	}
	u.Path = "/" + name
	create := "CREATE DATABASE " + name
	drop := "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"
	return createDB(t, "postgres", "pgx", admin, u.String(), create, drop)
}

// MySQL creates a uniquely named MariaDB/MySQL database for the test.
func MySQL(t testing.TB) *DB {
	t.Helper()
	admin := envOr("TEST_MYSQL_DSN", DefaultMySQLDSN)
	cfg, err := mysql.ParseDSN(admin)
	if err != nil {
		t.Fatalf("TEST_MYSQL_DSN %q: %v", admin, err)
	}
	name := Unique("wo_test_")
	cfg.DBName = name
	cfg.ParseTime = true
	create := "CREATE DATABASE " + name
	drop := "DROP DATABASE IF EXISTS " + name
	return createDB(t, "mysql", "mysql", admin, cfg.FormatDSN(), create, drop)
}

// Open creates a fresh database of the given dialect ("postgres" or "mysql").
func Open(t testing.TB, dialect string) *DB {
	t.Helper()
	switch dialect {
	case "postgres":
		return Postgres(t)
	case "mysql":
		return MySQL(t)
	}
	t.Fatalf("testenv: unknown dialect %q", dialect)
	return nil
}

// Dialects lists the dialects that every SQL test runs on.
var Dialects = []string{"postgres", "mysql"}

func createDB(t testing.TB, dialect, driver, adminDSN, dsn, create, drop string) *DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	admin, err := sql.Open(driver, adminDSN)
	if err != nil {
		t.Fatalf("open %s admin connection: %v", dialect, err)
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		Missing(t, dialect, err)
	}
	if _, err := admin.ExecContext(ctx, create); err != nil {
		admin.Close()
		t.Fatalf("%s: %v", create, err)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open %s test database: %v", dialect, err)
	}
	t.Cleanup(func() {
		db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, drop); err != nil {
			t.Logf("%s: %v", drop, err)
		}
		admin.Close()
	})
	return &DB{Dialect: dialect, DSN: dsn, DB: db}
}

// String names the database for test output.
func (d *DB) String() string { return fmt.Sprintf("%s database", d.Dialect) }

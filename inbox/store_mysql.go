package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
)

// mysqlDialect serves MySQL and MariaDB (InnoDB). INSERT IGNORE on the
// primary key waits for the lock held by an uncommitted row with the same
// key and then affects no row. Keys are stored as VARBINARY so that keys
// differing only in case or trailing spaces stay distinct; their length is
// checked before the insert, because INSERT IGNORE would truncate them.
type mysqlDialect struct{}

func myQuote(table string) string { return "`" + table + "`" }

func (mysqlDialect) schema(table string) []string {
	return []string{`CREATE TABLE IF NOT EXISTS ` + myQuote(table) + ` (
		consumer_group VARBINARY(255) NOT NULL,
		message_id VARBINARY(255) NOT NULL,
		received_at DATETIME(6) NOT NULL,
		processed_at DATETIME(6) NOT NULL,
		PRIMARY KEY (consumer_group, message_id),
		KEY ` + myQuote(table+"_received_idx") + ` (consumer_group, received_at)
	) ENGINE=InnoDB`}
}

// lockTimeout is how long Migrate waits for another process's migration.
const lockTimeout = 60 * time.Second

func (mysqlDialect) lock(ctx context.Context, conn *sql.Conn, table string) error {
	name, _ := lockName(table)
	var got sql.NullInt64
	err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, ?)`, name,
		int(lockTimeout/time.Second)).Scan(&got)
	if err != nil {
		return err
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("GET_LOCK(%q) not granted within %s", name, lockTimeout)
	}
	return nil
}

func (mysqlDialect) unlock(ctx context.Context, conn *sql.Conn, table string) error {
	name, _ := lockName(table)
	_, err := conn.ExecContext(ctx, `SELECT RELEASE_LOCK(?)`, name)
	return err
}

func (mysqlDialect) insert(table string) string {
	return `INSERT IGNORE INTO ` + myQuote(table) +
		` (consumer_group, message_id, received_at, processed_at) VALUES (?, ?, ?, ?)`
}

// prepareInsert is true: go-sql-driver/mysql spends three round trips on
// an unprepared statement with arguments, a prepared one takes one.
func (mysqlDialect) prepareInsert() bool { return true }

func (mysqlDialect) cleanup(table string) string {
	return `DELETE FROM ` + myQuote(table) +
		` WHERE consumer_group = ? AND received_at < ? LIMIT ?`
}

func (mysqlDialect) conflict(err error) bool {
	var myErr *mysql.MySQLError
	if !errors.As(err, &myErr) {
		return false
	}
	return myErr.Number == 1213 || myErr.Number == 1205 // deadlock, lock wait timeout
}

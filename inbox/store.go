package inbox

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"regexp"
	"time"
)

// MaxKeyLen is the longest deduplication key, in bytes, that the table
// stores. Longer keys are rejected with ErrInvalidKey rather than truncated.
const MaxKeyLen = 255

// maxTableLen leaves room for the index name suffix within PostgreSQL's
// 63-byte identifier limit (MySQL allows 64).
const maxTableLen = 48

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validateTable accepts only plain identifiers, so a table name can never
// change the meaning of the SQL it is pasted into.
func validateTable(table string) error {
	if len(table) > maxTableLen || !tableName.MatchString(table) {
		return fmt.Errorf("%w: %q (want ASCII letters, digits and _, "+
			"not starting with a digit, at most %d bytes)", ErrInvalidTable, table, maxTableLen)
	}
	return nil
}

// dialect holds the SQL that differs between databases. Table names reach
// it already validated; each dialect quotes them as well.
type dialect interface {
	// schema returns the idempotent statements creating the table.
	schema(table string) []string
	// lock takes a session lock serialising migrations of name on conn.
	lock(ctx context.Context, conn *sql.Conn, name string) error
	// unlock releases the lock taken by lock.
	unlock(ctx context.Context, conn *sql.Conn, name string) error
	// insert adds a row unless (group, key) exists; a duplicate affects
	// zero rows. It waits for an uncommitted duplicate. Arguments: group,
	// key, received_at, processed_at.
	insert(table string) string
	// prepareInsert reports whether the insert runs as a statement prepared
	// once on the pool rather than as a plain query (see insertStmt).
	prepareInsert() bool
	// cleanup deletes at most a given number of rows of a group received
	// before a cutoff. Arguments: group, cutoff, limit.
	cleanup(table string) string
	// conflict reports whether err is a deadlock, serialization failure or
	// lock timeout that a new attempt can get past.
	conflict(err error) bool
}

func dialectFor(name string) (dialect, error) {
	switch name {
	case "postgres":
		return postgres{}, nil
	case "mysql":
		return mysqlDialect{}, nil
	}
	return nil, fmt.Errorf("%w: %q (want postgres or mysql)", ErrUnknownDialect, name)
}

// lockName derives a stable lock name or number from the table name.
func lockName(table string) (string, int64) {
	h := fnv.New64a()
	_, _ = h.Write([]byte("watermill-outbox/inbox/migrate/" + table))
	sum := h.Sum64()
	return fmt.Sprintf("wo_inbox_%016x", sum), int64(sum)
}

// Migrate creates the deduplication table and its index unless they exist.
// It is safe to call from many processes at once: the statements run under
// a session lock (pg_advisory_lock on PostgreSQL, GET_LOCK on MySQL), on a
// connection of their own, never inside a caller's transaction (DDL would
// commit it on MySQL). The table name is validated before any SQL is sent.
func Migrate(ctx context.Context, db *sql.DB, dialectName, table string) error {
	if err := validateTable(table); err != nil {
		return err
	}
	d, err := dialectFor(dialectName)
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("inbox: migrate %q: connect: %w", table, err)
	}
	defer conn.Close()
	if err := d.lock(ctx, conn, table); err != nil {
		return fmt.Errorf("inbox: migrate %q: lock: %w", table, err)
	}
	defer func() {
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = d.unlock(unlockCtx, conn, table)
	}()
	for _, stmt := range d.schema(table) {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("inbox: migrate %q: %w", table, err)
		}
	}
	return nil
}

package inbox

import (
	"context"
	"database/sql"
	"sync"
)

// insertStmt holds the key insert as a statement prepared once on the pool.
// With go-sql-driver/mysql, a statement with arguments that is not prepared
// costs three round trips (prepare, execute, close) unless the DSN sets
// interpolateParams; a prepared one costs one, which is most of the inbox's
// overhead on MySQL and MariaDB. pgx caches its statements by itself, and
// measured slightly slower through a database/sql statement, so on
// PostgreSQL prepare is false and the plain query runs. database/sql
// prepares the statement again on each pool connection that has not seen
// it yet.
type insertStmt struct {
	db      *sql.DB
	query   string
	prepare bool

	mu   sync.Mutex
	stmt *sql.Stmt
}

func newInsertStmt(db *sql.DB, d dialect, table string) *insertStmt {
	return &insertStmt{db: db, query: d.insert(table), prepare: d.prepareInsert()}
}

// prepared returns the statement prepared on the pool, preparing it on
// first use, or nil when it is not prepared (PostgreSQL) or cannot be (the
// table does not exist yet, say; the next call tries again). Call it before
// beginning the transaction: preparing takes a pool connection of its own,
// which a transaction holding the last free one would wait for until its
// deadline.
func (s *insertStmt) prepared(ctx context.Context) *sql.Stmt {
	if !s.prepare {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stmt == nil {
		s.stmt, _ = s.db.PrepareContext(ctx, s.query)
	}
	return s.stmt
}

// exec runs the insert inside tx: through stmt (from prepared) when it is
// not nil, re-prepared on the transaction's connection if that one has not
// seen it; else as a plain query, which reports the real error if the
// statement could not be prepared.
func (s *insertStmt) exec(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, args ...any) (
	sql.Result, error) {
	if stmt != nil {
		return tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, s.query, args...)
}

// close releases the prepared statement on every connection that holds it.
func (s *insertStmt) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stmt == nil {
		return nil
	}
	err := s.stmt.Close()
	s.stmt = nil
	return err
}

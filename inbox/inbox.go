package inbox

import (
	"context"
	"database/sql"
	"fmt"
)

// Inbox is the idempotent-consumer middleware with its storage. Build it
// with New, create its table with Migrate, and wrap handlers with
// Middleware. An Inbox is safe for concurrent use by any number of handlers
// and goroutines.
//
// What one delivery of a message goes through, per attempt:
//
//  1. A transaction is begun on Config.DB with a deadline of TxTimeout.
//  2. The row (ConsumerGroup, key) is inserted. If it already exists, the
//     message was applied before: the transaction is rolled back, the
//     handler is not run and the message is acknowledged (returns nil).
//     If another delivery of the same key holds the row uncommitted, the
//     insert waits for it and then sees the duplicate (or, if that delivery
//     rolls back, takes its place).
//  3. The handler runs with the transaction in its message context
//     (TxFromContext). When it returns nil the transaction commits and the
//     message is acknowledged; when it returns an error or panics the
//     transaction is rolled back, so none of its writes and no row of the
//     inbox remain.
//
// Guarantees: for one ConsumerGroup, the handler's transactional writes are
// committed at most once per key within the DedupWindow, and at least once
// for every message the broker delivers until it is acknowledged. Effects
// outside the transaction (HTTP calls, publishing through a non-outbox
// publisher) may happen more than once. Messages the handler returns are
// published by the Watermill router after the commit; if that publish
// fails, the redelivery is skipped as a duplicate and they are lost:
// publish through the outbox on the inbox transaction instead.
//
// Failures: an attempt that fails is retried in-process, in a fresh
// transaction, after an exponential backoff with jitter (RetryInitial,
// doubling, capped at RetryMax), up to MaxAttempts attempts in all. An
// error marked Permanent, ErrEmptyKey and ErrInvalidKey skip the retries.
// A message out of attempts is published to PoisonTopic with its error,
// attempt count, original topic, handler name and time, and then
// acknowledged, so the messages behind it are handled. If publishing to the
// poison topic fails, the middleware returns the error: the message is
// nacked and redelivered by the subscriber, nothing is lost.
//
// Cancellation: when the message context is cancelled (the router is
// closing), the running transaction is rolled back, no retry or poisoning
// happens and the middleware returns the context error, so the message is
// nacked and left for redelivery; it is never half-applied.
type Inbox struct {
	cfg     Config
	dialect dialect
	metrics *metrics
	keyOf   KeyFunc

	insert     *insertStmt
	cleanupSQL string
}

// New checks cfg (after filling in its defaults) and returns an Inbox. It
// does not create the table: call Migrate first, once per deployment.
func New(cfg Config) (*Inbox, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d, _ := dialectFor(cfg.Dialect) // checked by Validate
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("inbox: register metrics: %w", err)
	}
	return &Inbox{
		cfg:        cfg,
		dialect:    d,
		metrics:    m,
		keyOf:      keyFunc(cfg),
		insert:     newInsertStmt(cfg.DB, d, cfg.Table),
		cleanupSQL: d.cleanup(cfg.Table),
	}, nil
}

// Config returns the configuration in use, defaults filled in.
func (i *Inbox) Config() Config { return i.cfg }

type txKey struct{}

// TxFromContext returns the inbox transaction of the message being handled:
// pass msg.Context(). Write the handler's data through it. A *sql.Tx also
// serves as the executor of a watermill-sql publisher (sql.NewPublisher),
// so an outbox publisher built on it commits its messages together with
// the inbox row. The transaction belongs to the middleware: do not commit
// or roll it back, and do not use it after the handler returns.
func TxFromContext(ctx context.Context) (*sql.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(*sql.Tx)
	return tx, ok && tx != nil
}

// ContextWithTx returns ctx carrying tx for TxFromContext. The middleware
// calls it; tests of handlers can use it to run a handler outside it.
func ContextWithTx(ctx context.Context, tx *sql.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// Close releases the statement the Inbox prepared on the database. The
// Inbox can still be used afterwards; it prepares the statement again. Close
// does not close the database; closing the database releases the statement
// as well.
func (i *Inbox) Close() error {
	if err := i.insert.close(); err != nil {
		return fmt.Errorf("inbox: close prepared insert: %w", err)
	}
	return nil
}

package publisher

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/internal/sqldialect"
)

// ErrNoTransaction is returned by Outbox.Publish when it is given no
// transaction. Use PublishNoTx to write outside one on purpose.
var ErrNoTransaction = errors.New("no transaction")

// Outbox writes messages into the outbox tables inside the caller's
// database transaction, so that they exist exactly when the transaction's
// other changes do: a rolled-back transaction leaves no message behind and
// a committed one leaves all of them, for a forwarder to send to Kafka.
//
// Rows are written by watermill-sql's publisher with its default schema
// adapter and table naming, each message wrapped in the envelope of
// Watermill's forwarder component with its destination topic inside. The
// outbox is therefore interchangeable with Watermill's stock
// forwarder.NewPublisher over a watermill-sql publisher: either side can
// write rows that the other's forwarder drains.
//
// The tables must exist beforehand (see Migrate): the outbox never runs
// DDL, which would commit the caller's transaction on MySQL.
//
// Order: the forwarder reads a shard in watermill-sql's order, which is
// the order of the transactions' first writes on PostgreSQL (transaction
// id) and of the inserts on MySQL (auto-increment offset), then the order
// of rows within a transaction. That is commit order whenever transactions
// that publish with one key are serialised before their first write, for
// example by locking the business row they change; two such transactions
// that overlap without a lock may be forwarded in the order they started.
//
// An Outbox holds no connection and is safe for concurrent use; a single
// *sql.Tx is not, so one transaction must not be published to from several
// goroutines at once.
type Outbox struct {
	cfg     OutboxConfig
	dialect sqldialect.Dialect
	logger  watermill.LoggerAdapter
}

// NewOutbox checks cfg, fills in its defaults and returns an Outbox. A nil
// logger logs nothing.
func NewOutbox(cfg OutboxConfig, logger watermill.LoggerAdapter) (*Outbox, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d, err := sqldialect.Get(cfg.Dialect)
	if err != nil {
		return nil, fmt.Errorf("publisher: outbox: %w", err)
	}
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	return &Outbox{cfg: cfg, dialect: d, logger: logger}, nil
}

// Config returns the configuration in effect, defaults filled in.
func (o *Outbox) Config() OutboxConfig { return o.cfg }

// Publish writes msgs, addressed to the Kafka topic, into the outbox as
// part of tx. It returns once the rows are in the transaction; they are
// visible to the forwarder only after the caller commits tx, and gone if
// the caller rolls it back. All messages of one call with one partition
// key keep their order, as do messages of successive calls in one tx.
//
// topic is checked by Kafka's naming rules before any SQL runs; a nil tx
// gives ErrNoTransaction and writes nothing. On PostgreSQL a notification
// for each written shard is queued in tx too (see NotifyChannel). After a
// failed Publish the caller should roll back: on PostgreSQL the failed
// statement has already aborted the transaction.
//
// ctx bounds the statements; it does not end the transaction.
func (o *Outbox) Publish(
	ctx context.Context, tx *sql.Tx, topic string, msgs ...*message.Message,
) error {
	if tx == nil {
		return fmt.Errorf("publisher: outbox: publish to %q: %w", topic, ErrNoTransaction)
	}
	if err := o.check(ctx, topic, msgs); err != nil {
		return err
	}
	_, err := o.publish(ctx, tx, topic, msgs)
	return err
}

// PublishNoTx writes msgs in a short transaction of its own on db, then
// calls Notify. It gives up the outbox's main promise: the messages are
// not tied to any business change, so a crash between the caller's own
// commit and this call loses them, and a rollback of the caller's work
// does not take them back. Use it only for messages that stand alone.
func (o *Outbox) PublishNoTx(
	ctx context.Context, db *sql.DB, topic string, msgs ...*message.Message,
) error {
	if db == nil {
		return fmt.Errorf("publisher: outbox: publish to %q: nil database", topic)
	}
	if err := o.check(ctx, topic, msgs); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("publisher: outbox: publish to %q: begin: %w", topic, err)
	}
	defer func() { _ = tx.Rollback() }()
	shards, err := o.publish(ctx, tx, topic, msgs)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("publisher: outbox: publish to %q: commit: %w", topic, err)
	}
	o.notify(shards)
	return nil
}

// Publisher returns a message.Publisher that publishes into the outbox as
// part of tx, for code written against Watermill's interface (such as an
// EventPublisher). Each Publish call takes its context from the first
// message. Close does nothing: the transaction belongs to the caller.
func (o *Outbox) Publisher(tx *sql.Tx) message.Publisher {
	return txPublisher{outbox: o, tx: tx}
}

// Notify wakes the configured Notifier for every shard topic. Call it after
// committing a transaction that published, so an in-process forwarder
// drains at once. Without a Notifier it does nothing.
func (o *Outbox) Notify() {
	o.notify(ShardTopics(o.cfg.ForwarderTopic, o.cfg.Shards))
}

func (o *Outbox) notify(sqlTopics []string) {
	if o.cfg.Notifier == nil {
		return
	}
	for _, t := range sqlTopics {
		o.cfg.Notifier.Notify(t)
	}
}

// txPublisher is the message.Publisher bound to one transaction.
type txPublisher struct {
	outbox *Outbox
	tx     *sql.Tx
}

func (p txPublisher) Publish(topic string, msgs ...*message.Message) error {
	ctx := context.Background()
	if len(msgs) > 0 && msgs[0] != nil {
		ctx = msgs[0].Context()
	}
	return p.outbox.Publish(ctx, p.tx, topic, msgs...)
}

func (p txPublisher) Close() error { return nil }

// ctxExecutor runs watermill-sql's statements under the caller's context:
// watermill-sql's publisher itself always passes context.Background().
type ctxExecutor struct {
	wsql.ContextExecutor
	ctx context.Context
}

func (e ctxExecutor) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	return e.ContextExecutor.ExecContext(e.ctx, query, args...)
}

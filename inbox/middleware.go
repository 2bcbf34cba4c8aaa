package inbox

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// delivery is one message going through the middleware.
type delivery struct {
	msg        *message.Message
	group      string
	topic      string
	handler    string
	fields     watermill.LogFields
	receivedAt time.Time
}

func (i *Inbox) newDelivery(msg *message.Message) *delivery {
	ctx := msg.Context()
	handler := message.HandlerNameFromCtx(ctx)
	topic := message.SubscribeTopicFromCtx(ctx)
	return &delivery{
		msg:     msg,
		group:   i.cfg.ConsumerGroup,
		topic:   topic,
		handler: handler,
		fields: watermill.LogFields{
			"topic":          topic,
			"handler":        handler,
			"message_uuid":   msg.UUID,
			"correlation_id": middleware.MessageCorrelationID(msg),
			"consumer_group": i.cfg.ConsumerGroup,
		},
		receivedAt: time.Now().UTC(),
	}
}

func (d *delivery) withAttempt(n int) watermill.LogFields {
	return d.fields.Add(watermill.LogFields{"attempt": n})
}

// Middleware wraps h so that each message is applied once in effect; see
// the Inbox type for the full contract. It has the signature of a
// message.HandlerMiddleware and can be passed to Router.AddMiddleware or
// Handler.AddMiddleware. Watermill runs the first middleware added
// outermost: add logging and correlation middleware before the inbox so
// they see every delivery. Do not combine it with Watermill's Retry or
// PoisonQueue middleware for the same handler: it does both. Do not put
// Watermill's Timeout middleware around it with a deadline shorter than
// MaxAttempts × (TxTimeout + RetryMax): an expired message context is taken
// as a shutdown, so the message would be nacked and redelivered instead of
// poisoned. TxTimeout is the per-attempt bound.
func (i *Inbox) Middleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		return i.handle(msg, h)
	}
}

func (i *Inbox) handle(msg *message.Message, h message.HandlerFunc) ([]*message.Message, error) {
	d := i.newDelivery(msg)
	key, err := i.messageKey(msg)
	if err != nil {
		return nil, i.giveUp(d, err, 0)
	}
	for attempt := 1; ; attempt++ {
		out, dup, err := i.attempt(d, h, key, attempt)
		if err == nil {
			i.done(d, dup, attempt)
			return out, nil
		}
		if ctxErr := msg.Context().Err(); ctxErr != nil {
			return nil, fmt.Errorf("inbox: message %q: %w (attempt %d: %w)",
				msg.UUID, ctxErr, attempt, err)
		}
		if IsPermanent(err) || attempt >= i.cfg.MaxAttempts {
			return nil, i.giveUp(d, err, attempt)
		}
		i.metrics.retried.WithLabelValues(d.group, d.handler).Inc()
		i.emit(d, EventRetried, attempt, err)
		if err := sleep(msg.Context(), i.backoff(attempt)); err != nil {
			return nil, fmt.Errorf("inbox: message %q: waiting to retry: %w", msg.UUID, err)
		}
	}
}

func (i *Inbox) done(d *delivery, dup bool, attempt int) {
	if dup {
		i.metrics.duplicate.WithLabelValues(d.group, d.handler).Inc()
		i.emit(d, EventDuplicate, attempt, nil)
		return
	}
	i.metrics.processed.WithLabelValues(d.group, d.handler).Inc()
	i.emit(d, EventProcessed, attempt, nil)
}

// attempt runs one transaction: record the key, run the handler, commit.
// dup reports that the key was already recorded; the handler did not run.
func (i *Inbox) attempt(d *delivery, h message.HandlerFunc, key string, n int) (
	out []*message.Message, dup bool, err error) {
	ctx, cancel := context.WithTimeout(d.msg.Context(), i.cfg.TxTimeout)
	defer cancel()
	stmt := i.insert.prepared(ctx) // before BeginTx: it may need a connection of its own
	tx, err := i.cfg.DB.BeginTx(ctx, i.cfg.TxOptions)
	if err != nil {
		return nil, false, fmt.Errorf("inbox: begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	inserted, err := i.record(ctx, tx, stmt, d.group, key, d.receivedAt)
	if err != nil || !inserted {
		return nil, !inserted && err == nil, err
	}
	if out, err = i.run(ctx, tx, d, h); err != nil {
		return nil, false, err
	}
	if err = tx.Commit(); err != nil {
		// The outcome may be unknown; if the commit did land, the next
		// attempt finds the row and skips the message as a duplicate.
		return nil, false, i.dbError("commit", key, err)
	}
	committed = true
	return out, false, nil
}

// record inserts the key; false means it already exists. processed_at is
// written here, at the start of the attempt, rather than by an UPDATE after
// the handler: the row only becomes visible if this attempt commits, and
// the extra statement cost about 15% of the handler's time (see
// BenchmarkInboxOverhead and docs/inbox.md).
func (i *Inbox) record(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, group, key string,
	receivedAt time.Time) (bool, error) {
	res, err := i.insert.exec(ctx, tx, stmt, group, key, receivedAt, time.Now().UTC())
	if err != nil {
		return false, i.dbError("record key", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, i.dbError("record key", key, err)
	}
	return n == 1, nil
}

func (i *Inbox) dbError(what, key string, err error) error {
	if i.dialect.conflict(err) {
		return fmt.Errorf("inbox: %s %q: %w: %w", what, key, ErrConflict, err)
	}
	return fmt.Errorf("inbox: %s %q: %w", what, key, err)
}

// run calls the handler with the transaction in the message context and
// turns a panic into an error, so the transaction is rolled back and the
// message retried like any other failure.
func (i *Inbox) run(ctx context.Context, tx *sql.Tx, d *delivery, h message.HandlerFunc) (
	out []*message.Message, err error) {
	orig := d.msg.Context()
	d.msg.SetContext(ContextWithTx(ctx, tx))
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, panicError(r)
		}
		d.msg.SetContext(orig)
		i.metrics.duration.WithLabelValues(d.group, d.handler).Observe(time.Since(start).Seconds())
	}()
	return h(d.msg)
}

package forwarder

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
)

// errShardFailed is returned by a batch that could not send every row.
var errShardFailed = errors.New("forwarder: batch not fully sent")

// pass is what one batch found, and so how soon the next one runs.
type pass int

const (
	passIdle pass = iota // nothing to send: wait for a wake-up or the poll
	passMore             // a full batch: run the next one at once
	passHeld             // rows committed but not readable yet: look again soon
)

// heldRetry is the first wait when rows are held back by an older open
// transaction; it doubles up to heldRetryMax (or PollInterval, if shorter).
// Such stalls are usually short (any transaction in the cluster that holds
// a transaction id, even CREATE DATABASE, causes one), so they are checked
// more often than an idle outbox, but cheaply: one probe query each time.
const (
	heldRetry    = 5 * time.Millisecond
	heldRetryMax = 200 * time.Millisecond
)

// drainShard runs batches of one shard until ctx ends: at once again after a
// full batch, after a backoff when a batch failed, soon (see heldRetry)
// when committed rows are not readable yet, otherwise at the next wake-up or
// poll.
func (f *Forwarder) drainShard(ctx context.Context, topic string, wake <-chan struct{}) {
	bo := backoff{initial: f.cfg.BackoffInitial, max: f.cfg.BackoffMax}
	held := backoff{initial: heldRetry, max: max(heldRetry, min(heldRetryMax, f.cfg.PollInterval))}
	sent := sentRows{}
	for !f.ensureGroup(ctx, topic) {
		sleep(ctx.Done(), bo.wait())
	}
	for ctx.Err() == nil {
		p, err := f.batch(ctx, topic, sent)
		if err != nil {
			sleep(ctx.Done(), bo.wait())
			continue
		}
		bo.reset()
		switch p {
		case passMore:
			held.reset()
		case passHeld:
			f.idle(ctx, wake, held.wait())
		default:
			held.reset()
			f.idle(ctx, wake, f.cfg.PollInterval)
		}
	}
}

// ensureGroup inserts the group's offsets row if it is missing; it reports
// success, or true when ctx ended.
func (f *Forwarder) ensureGroup(ctx context.Context, topic string) bool {
	group := f.cfg.ConsumerGroup
	bounded, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.BatchTimeout)
	defer cancel()
	err := f.dialect.ensureGroup(bounded, f.cfg.DB, topic, group)
	if err != nil && ctx.Err() == nil {
		f.dbLink.fail(err, watermill.LogFields{"topic": topic})
		return false
	}
	return true
}

// idle waits for a wake-up, d or the end of ctx.
func (f *Forwarder) idle(ctx context.Context, wake <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-wake:
	case <-t.C:
	case <-ctx.Done():
	}
}

// batch forwards up to BatchSize rows of one shard in one transaction. It
// runs to its end even when ctx is cancelled meanwhile, so shutdown never
// leaves half a batch; BatchTimeout bounds it instead.
func (f *Forwarder) batch(parent context.Context, topic string, sent sentRows) (pass, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), f.cfg.BatchTimeout)
	defer cancel()
	fields := watermill.LogFields{"topic": topic}
	ready, pending, err := f.dialect.probe(ctx, f.cfg.DB, topic, f.cfg.ConsumerGroup)
	if err != nil {
		f.dbLink.fail(err, fields)
		return passIdle, err
	}
	f.dbLink.ok(fields)
	switch {
	case !pending:
		return passIdle, nil
	case !ready:
		return passHeld, nil
	}
	tx, err := f.cfg.DB.BeginTx(ctx, f.dialect.txOptions())
	if err != nil {
		f.dbLink.fail(err, fields)
		return passIdle, fmt.Errorf("forwarder: begin batch of %q: %w", topic, err)
	}
	defer func() { _ = tx.Rollback() }()
	full, err := f.batchInTx(ctx, tx, topic, sent)
	if err != nil && !errors.Is(err, errShardFailed) {
		f.dbLink.fail(err, fields)
	}
	if full {
		return passMore, err
	}
	return passIdle, err
}

func (f *Forwarder) batchInTx(ctx context.Context, tx *sql.Tx, topic string,
	sent sentRows) (bool, error) {
	pos, ok, err := f.dialect.lock(ctx, tx, topic, f.cfg.ConsumerGroup)
	if err != nil || !ok { // not ok: another instance holds the shard
		return false, err
	}
	rows, err := f.dialect.read(ctx, tx, topic, pos, f.cfg.BatchSize)
	if err != nil || len(rows) == 0 {
		return false, err
	}
	out := f.send(topic, rows, sent)
	if err := f.finish(ctx, tx, topic, out); err != nil {
		sent.add(out.sentPositions(0))
		return false, err
	}
	sent.add(out.sentPositions(out.acked))
	if out.acked > 0 {
		sent.prune(rows[out.acked-1].Pos)
	}
	f.record(topic, out)
	if out.failed > 0 {
		return false, fmt.Errorf("%w: %q: %d of %d rows failed: %w", errShardFailed, topic,
			out.failed, len(rows), out.firstErr)
	}
	return len(rows) == f.cfg.BatchSize, nil
}

// finish dead-letters and acknowledges the sent prefix of the batch and
// commits; nothing is acknowledged when the first row already failed.
func (f *Forwarder) finish(ctx context.Context, tx *sql.Tx, topic string, out *outcome) error {
	if out.acked == 0 {
		return nil
	}
	for _, dl := range out.deadLetters() {
		dl.SQLTopic = topic
		if err := insertDeadLetter(ctx, tx, f.dialect, dl); err != nil {
			return err
		}
	}
	if err := f.publishDeadLetters(topic, out); err != nil {
		return err
	}
	last := out.rows[out.acked-1].Pos
	if err := f.dialect.ack(ctx, tx, topic, f.cfg.ConsumerGroup, last); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("forwarder: commit batch of %q: %w", topic, err)
	}
	return nil
}

// record counts the batch in the metrics and logs its dead letters.
func (f *Forwarder) record(topic string, out *outcome) {
	forwarded := 0
	for i := range out.acked {
		if out.status[i] == rowSent {
			forwarded++
		}
	}
	f.metrics.forwarded.WithLabelValues(topic).Add(float64(forwarded))
	f.metrics.failed.WithLabelValues(topic).Add(float64(out.failed))
	for _, dl := range out.deadLetters() {
		f.metrics.deadLettered.WithLabelValues(topic).Inc()
		f.logger.Error("Outbox row dead-lettered", errors.New(dl.Reason), watermill.LogFields{
			"topic": topic, "message_uuid": dl.UUID, "offset": dl.Row.Pos.Offset,
		})
	}
}

// publishDeadLetters copies the batch's dead letters to DeadLetterTopic. A
// record Kafka refuses for good is only logged (the table holds it); any
// other failure fails the batch.
func (f *Forwarder) publishDeadLetters(topic string, out *outcome) error {
	dls := out.deadLetters()
	if f.cfg.DeadLetterTopic == "" || len(dls) == 0 {
		return nil
	}
	prod, err := f.producer.get()
	if err != nil {
		f.kafkaLink.fail(err, watermill.LogFields{"topic": f.cfg.DeadLetterTopic})
		return fmt.Errorf("%w: %w", errShardFailed, err)
	}
	msgs := make([]*sarama.ProducerMessage, len(dls))
	for i, dl := range dls {
		msgs[i] = deadLetterMessage(f.cfg.DeadLetterTopic, topic, dl, i)
	}
	for i, err := range sendErrors(prod.SendMessages(msgs), msgs) {
		if !permanentSendError(err) {
			f.kafkaLink.fail(err, watermill.LogFields{"topic": f.cfg.DeadLetterTopic})
			return fmt.Errorf("%w: publish dead letter to %q: %w", errShardFailed,
				f.cfg.DeadLetterTopic, err)
		}
		f.logger.Error("Dead letter refused by kafka", err, watermill.LogFields{
			"topic": f.cfg.DeadLetterTopic, "message_uuid": dls[i].UUID,
		})
	}
	return nil
}

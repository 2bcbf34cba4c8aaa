package forwarder

import (
	"context"
	"errors"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/watermill-outbox/watermill-outbox/logging"
)

// monitor refreshes the backlog gauges and the database health every
// MetricsInterval, and reports shards stalled by an open transaction.
func (f *Forwarder) monitor(ctx context.Context) {
	streak := make(map[string]int, len(f.topics))
	for {
		f.refresh(ctx, streak)
		if !sleep(ctx.Done(), f.cfg.MetricsInterval) {
			return
		}
	}
}

func (f *Forwarder) refresh(ctx context.Context, streak map[string]int) {
	statuses, err := shardStatuses(ctx, f.cfg.DB, f.dialect, f.topics, f.cfg.ConsumerGroup)
	if err != nil {
		if ctx.Err() == nil {
			f.dbLink.fail(err, nil)
		}
		return
	}
	f.dbLink.ok(nil)
	for _, st := range statuses {
		f.metrics.backlog.WithLabelValues(st.Topic).Set(float64(st.Backlog))
		f.metrics.oldestAge.WithLabelValues(st.Topic).Set(st.OldestPending.Seconds())
		f.reportBlocked(st, streak)
	}
}

// reportBlocked sets the blocked gauge and logs a stall once at warn when it
// is seen on two refreshes in a row (a single sighting is usually a
// transaction that was about to commit), and once at info when it clears.
func (f *Forwarder) reportBlocked(st ShardStatus, streak map[string]int) {
	fields := watermill.LogFields{"topic": st.Topic, "backlog": st.Backlog,
		"oldest_pending": st.OldestPending.String()}
	if !st.BlockedByOpenTx {
		if streak[st.Topic] >= 2 {
			f.logger.Info("Outbox no longer blocked by an open transaction", fields)
		}
		streak[st.Topic] = 0
		f.metrics.blocked.WithLabelValues(st.Topic).Set(0)
		return
	}
	f.metrics.blocked.WithLabelValues(st.Topic).Set(1)
	streak[st.Topic]++
	if streak[st.Topic] == 2 {
		warn(f.logger, "Outbox blocked: committed rows stay invisible until an older open "+
			"transaction ends (see pg_stat_activity for long-running transactions)",
			ErrBlockedByOpenTx, fields)
	}
}

// watchKafka checks that Kafka answers every MetricsInterval, so health
// reflects an outage even while the outbox is idle. While batches are being
// sent their outcome is the health signal, and the check is skipped: a
// metadata answer says nothing about a produce request that just failed.
func (f *Forwarder) watchKafka(ctx context.Context) {
	for {
		if time.Since(time.Unix(0, f.lastSend.Load())) >= f.cfg.MetricsInterval {
			f.checkKafka()
		}
		if !sleep(ctx.Done(), f.cfg.MetricsInterval) {
			return
		}
	}
}

// checkKafka asks Kafka for metadata. A good answer does not clear a failing
// send: a broker can answer metadata while refusing writes (for example with
// too few in-sync replicas), and the batch being retried will tell.
func (f *Forwarder) checkKafka() {
	if err := f.producer.check(); err != nil {
		f.kafkaLink.fail(err, nil)
		return
	}
	if !f.sendFailing.Load() {
		f.kafkaLink.ok(nil)
	}
}

// retainLoop deletes old acknowledged rows every RetentionInterval.
func (f *Forwarder) retainLoop(ctx context.Context) {
	for {
		for _, t := range f.topics {
			if _, err := f.retain(ctx, t); err != nil && ctx.Err() == nil {
				f.logger.Error("Outbox retention failed", err, watermill.LogFields{"topic": t})
			}
		}
		if !sleep(ctx.Done(), f.cfg.RetentionInterval) {
			return
		}
	}
}

// retain deletes a shard's old rows in bounded statements until fewer than
// RetentionBatch rows go, at most 1000 statements per round.
func (f *Forwarder) retain(ctx context.Context, topic string) (int64, error) {
	var total int64
	for range 1000 {
		n, err := f.dialect.retain(ctx, f.cfg.DB, topic, f.cfg.Retention, f.cfg.RetentionBatch)
		total += n
		if err != nil || n < int64(f.cfg.RetentionBatch) || ctx.Err() != nil {
			return total, err
		}
	}
	return total, nil
}

// ErrBlockedByOpenTx is the error logged when a shard's pending rows are all
// held back by an older open PostgreSQL transaction.
var ErrBlockedByOpenTx = errors.New("forwarder: pending rows blocked by an open transaction")

// warn logs at warn level on loggers that have one (logging.WarnLogger);
// Watermill's LoggerAdapter has none, so on other loggers the warning goes
// to Error rather than logging.Warn's info fallback: a stall must not hide.
func warn(l watermill.LoggerAdapter, msg string, err error, fields watermill.LogFields) {
	if w, ok := l.(logging.WarnLogger); ok {
		w.Warn(msg, fields.Add(watermill.LogFields{"err": err}))
		return
	}
	l.Error(msg, err, fields)
}

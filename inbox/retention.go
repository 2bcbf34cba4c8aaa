package inbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
)

// maxCleanupBatches bounds the statements one Cleanup call runs, so a huge
// backlog is worked off over several calls instead of one endless loop.
const maxCleanupBatches = 1000

// Cleanup deletes the rows of this inbox's consumer group received more
// than DedupWindow ago, in statements of at most RetentionBatch rows each,
// each its own implicit transaction so no lock is held for long. It stops
// when a batch comes back short, after maxCleanupBatches statements, or
// when ctx is done, and returns how many rows it deleted.
//
// A message redelivered after its row was deleted is handled again as a
// new message: choose DedupWindow longer than the broker can redeliver
// (Kafka: the topic retention plus the time a consumer may stay stopped).
func (i *Inbox) Cleanup(ctx context.Context) (int64, error) {
	cutoff := time.Now().UTC().Add(-i.cfg.DedupWindow)
	batch := int64(i.cfg.RetentionBatch)
	var total int64
	for range maxCleanupBatches {
		res, err := i.cfg.DB.ExecContext(ctx, i.cleanupSQL, i.cfg.ConsumerGroup, cutoff, batch)
		if err != nil {
			return total, fmt.Errorf("inbox: cleanup table %q: %w", i.cfg.Table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("inbox: cleanup table %q: %w", i.cfg.Table, err)
		}
		total += n
		if n < batch {
			break
		}
	}
	return total, nil
}

// RunRetention calls Cleanup at once and then every interval until ctx is
// done, logging failures and carrying on. It returns nil when ctx ends and
// an error only for a non-positive interval. Run it in its own goroutine,
// in one or more processes: concurrent cleanups delete disjoint rows or
// wait briefly on each other's row locks.
func (i *Inbox) RunRetention(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("inbox: retention interval %s is not positive", interval)
	}
	fields := watermill.LogFields{"table": i.cfg.Table, "consumer_group": i.cfg.ConsumerGroup}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := i.Cleanup(ctx)
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			i.cfg.Logger.Error("inbox: retention cleanup failed", err, fields)
		case n > 0:
			i.cfg.Logger.Debug("inbox: retention removed rows", fields.Add(
				watermill.LogFields{"rows": n}))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

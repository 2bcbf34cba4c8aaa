package forwarder_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// TestBatchTimeoutBoundsAHungDatabase locks the outbox table from another
// session, so every query of the forwarder on it blocks. With a short
// BatchTimeout the forwarder gives up on the blocked batch, reports the
// database as lost with a deadline error, and once the lock is gone it
// forwards everything.
func TestBatchTimeoutBoundsAHungDatabase(t *testing.T) {
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, 1, 1)
			e.publish(e.outbox, msg("k", 1), msg("k", 2), msg("k", 3))
			unlock := lockOutboxTable(t, e.db.DB, d)
			logger := watermill.NewCaptureLogger()
			cfg := e.config()
			cfg.BatchTimeout, cfg.Logger = 300*time.Millisecond, logger
			start(t, cfg)
			t.Cleanup(unlock) // runs before the forwarder's stop, which waits for its batch
			eventually(t, 10*time.Second, "database reported lost on a deadline", func() bool {
				for _, m := range logger.Captured()[watermill.ErrorLogLevel] {
					if strings.Contains(m.Msg, "lost the database") &&
						errors.Is(m.Err, context.DeadlineExceeded) {
						return true
					}
				}
				return false
			})
			unlock()
			if got := consume(t, e.brokers, e.kafka, 3, 20*time.Second); len(got) != 3 {
				t.Fatalf("got %d records after the lock was released, want 3", len(got))
			}
		})
	}
}

// lockOutboxTable takes an exclusive lock on the outbox table on a
// connection of its own and returns the function that releases it; the
// caller must make sure it runs, also when the test fails.
func lockOutboxTable(t *testing.T, db *sql.DB, dialect string) func() {
	t.Helper()
	conn, err := db.Conn(ctx(t))
	if err != nil {
		t.Fatalf("lock connection: %v", err)
	}
	lock := []string{"BEGIN", "LOCK TABLE watermill_outbox IN ACCESS EXCLUSIVE MODE"}
	release := "ROLLBACK"
	if dialect == "mysql" {
		lock, release = []string{"LOCK TABLES watermill_outbox WRITE"}, "UNLOCK TABLES"
	}
	for _, q := range lock {
		if _, err := conn.ExecContext(ctx(t), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	released := false
	unlock := func() {
		if released {
			return
		}
		released = true
		if _, err := conn.ExecContext(context.Background(), release); err != nil {
			t.Errorf("%s: %v", release, err)
		}
		_ = conn.Close()
	}
	return unlock
}

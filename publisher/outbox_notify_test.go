package publisher

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// TestOutboxPostgresNotifyOnlyOnCommit listens on NotifyChannel and checks
// that a rolled-back publish announces nothing and a committed one
// announces its shard.
func TestOutboxPostgresNotifyOnlyOnCommit(t *testing.T) {
	t.Parallel()
	tdb := testenv.Postgres(t)
	topics := ShardTopics("orders_outbox", 2)
	if err := Migrate(testCtx(t), tdb.DB, "postgres", topics...); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	listener, err := pgx.Connect(testCtx(t), tdb.DSN)
	if err != nil {
		t.Fatalf("listener: %v", err)
	}
	defer listener.Close(context.Background())
	channel := NotifyChannel("orders_outbox")
	listen := "LISTEN " + pgx.Identifier{channel}.Sanitize()
	if _, err := listener.Exec(testCtx(t), listen); err != nil {
		t.Fatalf("listen: %v", err)
	}
	o := newTestOutbox(t, OutboxConfig{ForwarderTopic: "orders_outbox", Shards: 2})
	msg := newMsg("66666666-6666-6666-6666-666666666666", "{}",
		map[string]string{MetadataPartitionKey: "k"})
	for _, commit := range []bool{false, true} {
		tx := beginTx(t, tdb.DB)
		if err := o.Publish(testCtx(t), tx, "orders", msg); err != nil {
			t.Fatalf("publish: %v", err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatalf("end tx (commit=%v): %v", commit, err)
		}
	}
	n, err := listener.WaitForNotification(testCtx(t))
	if err != nil {
		t.Fatalf("wait for notification: %v", err)
	}
	if want := ShardTopic("orders_outbox", 2, "k"); n.Channel != channel || n.Payload != want {
		t.Fatalf("notification %s/%s, want %s/%s", n.Channel, n.Payload, channel, want)
	}
	// Only one notification may exist: a second would come from the rollback.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if extra, err := listener.WaitForNotification(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second notification %+v (err %v): the rolled-back tx notified", extra, err)
	}
}

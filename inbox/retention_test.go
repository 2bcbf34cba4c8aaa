package inbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

func (e *env) insertKey(group, key string, receivedAt time.Time) {
	e.t.Helper()
	q := `INSERT INTO watermill_inbox (consumer_group, message_id, received_at, processed_at)
		VALUES (` + e.ph(1) + `, ` + e.ph(2) + `, ` + e.ph(3) + `, ` + e.ph(4) + `)`
	if _, err := e.db.DB.Exec(q, group, key, receivedAt, receivedAt); err != nil {
		e.t.Fatalf("insert key: %v", err)
	}
}

func (e *env) keys(group string) int {
	e.t.Helper()
	return e.count(`SELECT COUNT(*) FROM watermill_inbox WHERE consumer_group = `+e.ph(1), group)
}

func TestCleanupRemovesOnlyOldRowsOfItsGroup(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		c := e.config()
		c.DedupWindow = time.Hour
		c.RetentionBatch = 2 // five old rows take three statements
		ib := e.inbox(c)
		old := time.Now().UTC().Add(-2 * time.Hour)
		for _, k := range []string{"o1", "o2", "o3", "o4", "o5"} {
			e.insertKey("test-group", k, old)
		}
		e.insertKey("test-group", "recent", time.Now().UTC().Add(-time.Minute))
		e.insertKey("other-group", "o1", old)

		n, err := ib.Cleanup(context.Background())
		if err != nil || n != 5 {
			t.Fatalf("Cleanup = %d, %v; want 5, nil", n, err)
		}
		if e.keys("test-group") != 1 || e.keys("other-group") != 1 {
			t.Fatalf("left %d rows of test-group and %d of other-group, want 1 and 1",
				e.keys("test-group"), e.keys("other-group"))
		}
		// A redelivery older than the window is treated as new.
		msg := message.NewMessage("o1", []byte("late redelivery"))
		h := ib.Middleware(func(m *message.Message) ([]*message.Message, error) {
			return nil, e.write(m, "late")
		})
		if _, err := h(msg); err != nil || e.effects("o1") != 1 {
			t.Fatalf("late redelivery: err %v, effects %d; want applied", err, e.effects("o1"))
		}
	})
}

func TestRunRetentionCleansPeriodicallyAndStops(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		c := e.config()
		c.DedupWindow = time.Hour
		ib := e.inbox(c)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ib.RunRetention(ctx, 20*time.Millisecond) }()
		e.insertKey("test-group", "old", time.Now().UTC().Add(-3*time.Hour))
		waitFor(t, 10*time.Second, func() bool { return e.keys("test-group") == 0 })
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("RunRetention: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("RunRetention did not stop after cancel")
		}
		if err := ib.RunRetention(context.Background(), 0); err == nil {
			t.Fatal("RunRetention accepted a zero interval")
		}
	})
}

func TestRowRecordsGroupKeyAndTimes(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		h := e.inbox(e.config()).Middleware(func(m *message.Message) ([]*message.Message, error) {
			return nil, e.write(m, "row")
		})
		before := time.Now().UTC().Add(-time.Second)
		msg := newMsg("row")
		if _, err := h(msg); err != nil {
			t.Fatalf("handle: %v", err)
		}
		var group, key string
		var received, processed time.Time
		err := e.db.DB.QueryRow(`SELECT consumer_group, message_id, received_at, processed_at
			FROM watermill_inbox`).Scan(&group, &key, &received, &processed)
		if err != nil {
			t.Fatalf("read row: %v", err)
		}
		if group != "test-group" || key != msg.UUID {
			t.Fatalf("row (%q, %q), want (test-group, %q)", group, key, msg.UUID)
		}
		if received.Before(before) || processed.Before(received) ||
			time.Since(processed) > time.Minute {
			t.Fatalf("received_at %s, processed_at %s: not in order around now",
				received, processed)
		}
	})
}

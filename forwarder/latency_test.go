package forwarder_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/watermill-outbox/watermill-outbox/forwarder"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// slowPoll is a poll interval no test waits for: a message that arrives
// within wakeWait of its commit was woken up, not polled. The margin is wide
// because on a shared PostgreSQL server any open transaction in the cluster
// (other tests' CREATE DATABASE included) delays visibility.
const (
	slowPoll = 10 * time.Second
	wakeWait = 8 * time.Second
)

// TestWakeDeliversBeforeThePoll: after the idle forwarder's first poll, a
// message published with an in-process Wake arrives well before the next
// poll would have fired.
func TestWakeDeliversBeforeThePoll(t *testing.T) {
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, 2, 1)
			cfg := e.config()
			cfg.PollInterval, cfg.DSN = slowPoll, "" // no LISTEN: only Wake
			f := start(t, cfg)
			waitIdle(t, f)
			o, err := publisher.NewOutbox(publisher.OutboxConfig{Dialect: d,
				ForwarderTopic: e.topic, Shards: e.shards, Notifier: f,
				DisablePostgresNotify: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			e.publish(o, msg("k", 1))
			o.Notify()
			if got := consume(t, e.brokers, e.kafka, 1, wakeWait); len(got) != 1 {
				t.Fatalf("no record within %s of a wake-up", wakeWait)
			}
		})
	}
}

// TestNotifyDeliversBeforeThePoll: on PostgreSQL the publisher's pg_notify
// wakes a forwarder in another connection without any in-process call.
func TestNotifyDeliversBeforeThePoll(t *testing.T) {
	e := newEnv(t, forwarder.DialectPostgres, 2, 1)
	cfg := e.config()
	cfg.PollInterval = slowPoll
	f := start(t, cfg)
	waitIdle(t, f)
	waitListening(t, e, 0)
	e.publish(e.outbox, msg("k", 1))
	if got := consume(t, e.brokers, e.kafka, 1, wakeWait); len(got) != 1 {
		t.Fatalf("no record within %s of a notification", wakeWait)
	}
}

// waitIdle waits until the forwarder has run its checks and its first
// (empty) poll, so that only a wake-up can make it look again soon.
func waitIdle(t *testing.T, f *forwarder.Forwarder) {
	eventually(t, 10*time.Second, "healthy forwarder", func() bool { return f.Healthy() == nil })
	time.Sleep(300 * time.Millisecond)
}

// TestOpenTransactionBlocksLaterRows: on PostgreSQL a row committed while
// an older transaction is open is not forwarded until that transaction
// ends (watermill-sql's visibility rule), and the stall shows in the gauge
// and the log.
func TestOpenTransactionBlocksLaterRows(t *testing.T) {
	e := newEnv(t, forwarder.DialectPostgres, 1, 1)
	logger := watermill.NewCaptureLogger()
	cfg := e.config()
	cfg.Logger = logger
	start(t, cfg)
	blocker, err := e.db.DB.BeginTx(ctx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = blocker.Rollback() }()
	if _, err := blocker.ExecContext(ctx(t), "SELECT pg_current_xact_id()"); err != nil {
		t.Fatal(err)
	}
	e.publish(e.outbox, msg("k", 1))
	if got := consume(t, e.brokers, e.kafka, 1, time.Second); len(got) != 0 {
		t.Fatalf("a row was forwarded while an older transaction was open")
	}
	eventually(t, 10*time.Second, "blocked gauge and log", func() bool {
		return metric(t, cfg.Registerer, "outbox_forwarder_blocked_by_open_transaction",
			"outbox") == 1 && loggedBlocked(logger)
	})
	if err := blocker.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := consume(t, e.brokers, e.kafka, 1, 10*time.Second); len(got) != 1 {
		t.Fatalf("row not forwarded after the open transaction ended")
	}
	eventually(t, 10*time.Second, "blocked gauge back at 0", func() bool {
		return metric(t, cfg.Registerer, "outbox_forwarder_blocked_by_open_transaction",
			"outbox") == 0
	})
}

func loggedBlocked(l *watermill.CaptureLoggerAdapter) bool {
	for _, m := range l.Captured()[watermill.ErrorLogLevel] {
		if errors.Is(m.Err, forwarder.ErrBlockedByOpenTx) {
			return true
		}
	}
	return false
}

// TestSurvivesDroppedConnections: after every connection of the forwarder
// to PostgreSQL is terminated (as in a database restart), it reconnects,
// LISTEN included, and a notification again delivers before the poll.
func TestSurvivesDroppedConnections(t *testing.T) {
	e := newEnv(t, forwarder.DialectPostgres, 1, 1)
	cfg := e.config()
	cfg.PollInterval = slowPoll
	f := start(t, cfg)
	waitIdle(t, f)
	old := waitListening(t, e, 0)
	e.exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	waitListening(t, e, old)
	e.publish(e.outbox, msg("k", 1))
	if got := consume(t, e.brokers, e.kafka, 1, wakeWait); len(got) != 1 {
		t.Fatalf("no record within %s after the connections were dropped", wakeWait)
	}
	eventually(t, 10*time.Second, "healthy again", func() bool { return f.Healthy() == nil })
}

// waitListening waits for the forwarder's LISTEN connection, other than
// the backend old, and returns its backend pid.
func waitListening(t *testing.T, e *env, old int) int {
	t.Helper()
	var pid int
	eventually(t, 10*time.Second, "the forwarder's LISTEN connection", func() bool {
		err := e.db.DB.QueryRowContext(ctx(t), `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN%'
			AND state = 'idle' AND pid <> $1`, old).Scan(&pid)
		return err == nil
	})
	return pid
}

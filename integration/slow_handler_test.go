package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// slowInboxTable is the inbox's deduplication table in these tests.
const slowInboxTable = "watermill_inbox"

// slowRig is one database holding both an inbox and an outbox, a forwarder
// draining that outbox to a Kafka topic, and the outbox publisher woken
// in-process by that forwarder.
type slowRig struct {
	db      *testenv.DB
	brokers []string
	topic   string
	outbox  *publisher.Outbox
	inbox   *inbox.Inbox
	sent    map[string]string
	// deaf makes the handlers sleep through the end of their context.
	deaf bool
}

// newSlowRig builds the rig on a fresh database of dialect; txTimeout
// bounds each inbox transaction.
func newSlowRig(t testing.TB, dialect string, txTimeout time.Duration) *slowRig {
	t.Helper()
	db := testenv.Open(t, dialect)
	migrateOutbox(t, db.DB, dialect)
	if err := inbox.Migrate(context.Background(), db.DB, dialect, slowInboxTable); err != nil {
		t.Fatalf("migrate inbox: %v", err)
	}
	brokers := testenv.Kafka(t)
	fwd, err := startOurs(db, forwarderSpec{Brokers: brokers})
	if err != nil {
		t.Fatalf("start forwarder: %v", err)
	}
	t.Cleanup(func() {
		if err := fwd.stop(); err != nil {
			t.Errorf("stop forwarder: %v", err)
		}
	})
	ob, err := publisher.NewOutbox(publisher.OutboxConfig{
		Dialect: dialect, ForwarderTopic: outboxTopic, Notifier: fwd.fwd,
	}, nil)
	if err != nil {
		t.Fatalf("new outbox: %v", err)
	}
	return &slowRig{db: db, brokers: brokers, topic: newTopic(t, brokers), outbox: ob,
		inbox: slowInbox(t, db, txTimeout), sent: make(map[string]string)}
}

// slowInbox is an inbox with one attempt per message, so a timed-out
// transaction is not retried; poisoned messages go to an in-memory channel.
func slowInbox(t testing.TB, db *testenv.DB, txTimeout time.Duration) *inbox.Inbox {
	t.Helper()
	poison := gochannel.NewGoChannel(gochannel.Config{Persistent: true}, watermill.NopLogger{})
	t.Cleanup(func() { _ = poison.Close() })
	cfg := inbox.Config{DB: db.DB, Dialect: db.Dialect, Publisher: poison}
	cfg.Table = slowInboxTable
	cfg.ConsumerGroup = "slow-handler"
	cfg.PoisonTopic = "slow.poison"
	cfg.MaxAttempts = 1
	cfg.TxTimeout = txTimeout
	ib, err := inbox.New(cfg)
	if err != nil {
		t.Fatalf("new inbox: %v", err)
	}
	return ib
}

// handlerRun is how one slow handler ended.
type handlerRun struct {
	end      time.Time // when the middleware returned
	byCtx    bool      // the handler stopped because its context ended
	err      error     // what the middleware returned
	inserted bool      // the handler saw the inbox transaction
}

// slowHandler keeps the inbox transaction open for d, or until the
// transaction's context ends, whichever comes first; a deaf one sleeps d
// whatever happens. It closes inside once it runs.
func slowHandler(d time.Duration, deaf bool, inside chan<- struct{},
	run *handlerRun) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		_, run.inserted = inbox.TxFromContext(msg.Context())
		close(inside)
		if deaf {
			time.Sleep(d)
			return nil, nil
		}
		select {
		case <-time.After(d):
			return nil, nil
		case <-msg.Context().Done():
			run.byCtx = true
			return nil, msg.Context().Err()
		}
	}
}

// measurement is one publish during a slow handler, times relative to the
// commit of the publishing transaction.
type measurement struct {
	arrival    time.Duration // commit to the record's arrival in Kafka
	handlerEnd time.Duration // commit to the end of the inbox attempt
	run        handlerRun
}

// publishDuring starts a handler that holds its inbox transaction for d,
// publishes one message through the outbox in a transaction of its own
// while that handler runs, and waits for both the record and the handler.
func (r *slowRig) publishDuring(t testing.TB, d time.Duration) measurement {
	t.Helper()
	inside := make(chan struct{})
	finished := make(chan struct{})
	var run handlerRun
	go func() {
		defer close(finished)
		h := r.inbox.Middleware(slowHandler(d, r.deaf, inside, &run))
		_, run.err = h(message.NewMessage(watermill.NewUUID(), []byte("slow")))
		run.end = time.Now()
	}()
	select {
	case <-inside:
	case <-finished:
		t.Fatalf("inbox attempt ended before its handler ran: %v", run.err)
	case <-time.After(10 * time.Second):
		t.Fatalf("handler not started within 10s")
	}
	committed := r.publishOne(t)
	if _, err := waitForRecords(t.Context(), r.brokers, r.topic, int64(len(r.sent)),
		d+10*time.Second); err != nil {
		t.Fatalf("wait for the message published during a %s handler: %v", d, err)
	}
	arrival := time.Since(committed)
	select {
	case <-finished:
	case <-time.After(d + 10*time.Second):
		t.Fatalf("handler of %s did not end within %s", d, d+10*time.Second)
	}
	m := measurement{arrival: arrival, handlerEnd: run.end.Sub(committed), run: run}
	t.Logf("%s handler of %s: arrival %s, handler end %s after commit",
		r.db.Dialect, d, m.arrival.Round(time.Millisecond), m.handlerEnd.Round(time.Millisecond))
	return m
}

// publishOne commits one message into the outbox, wakes the forwarder and
// returns the commit time.
func (r *slowRig) publishOne(t testing.TB) time.Time {
	t.Helper()
	msg := testMessage(len(r.sent))
	tx, err := r.db.DB.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatalf("begin publishing transaction: %v", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := r.outbox.Publish(t.Context(), tx, r.topic, msg); err != nil {
		t.Fatalf("publish to outbox: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit publishing transaction: %v", err)
	}
	committed := time.Now()
	r.outbox.Notify()
	r.sent[msg.UUID] = string(msg.Payload)
	return committed
}

// checkDelivered fails unless the topic holds exactly the published
// messages, each once.
func (r *slowRig) checkDelivered(t testing.TB) {
	t.Helper()
	recs := readTopic(t, r.brokers, r.topic, 30*time.Second)
	if dups := checkRecords(t, recs, r.sent); dups != 0 || len(recs) != len(r.sent) {
		t.Fatalf("topic holds %d records (%d duplicates), published %d",
			len(recs), dups, len(r.sent))
	}
}

// inboxRows counts the committed rows of the inbox table.
func (r *slowRig) inboxRows(t testing.TB) int {
	t.Helper()
	var n int
	if err := r.db.DB.QueryRow("SELECT COUNT(*) FROM " + slowInboxTable).Scan(&n); err != nil {
		t.Fatalf("count inbox rows: %v", err)
	}
	return n
}

// TestSlowHandlerHoldsBackForwarding shows that on PostgreSQL an open inbox
// transaction keeps a message committed after it started from being
// forwarded until it ends, that TxTimeout cuts that wait short, and that
// MySQL/MariaDB forwards such a message while the handler still runs.
func TestSlowHandlerHoldsBackForwarding(t *testing.T) {
	const d = time.Second
	t.Run("postgres/held_until_tx_ends", func(t *testing.T) {
		r := newSlowRig(t, "postgres", 30*time.Second)
		m := r.publishDuring(t, d)
		requireHandlerOK(t, m)
		if m.arrival < d*8/10 {
			t.Errorf("message arrived %s after commit, while a %s handler tx was open; "+
				"want it held back at least %s", m.arrival, d, d*8/10)
		}
		if m.arrival < m.handlerEnd-50*time.Millisecond {
			t.Errorf("message arrived %s after commit, before the handler tx ended at %s",
				m.arrival, m.handlerEnd)
		}
		r.checkDelivered(t)
	})
	t.Run("postgres/tx_timeout_releases", testTxTimeoutReleases)
	t.Run("postgres/tx_timeout_deaf_handler", testTxTimeoutDeafHandler)
	t.Run("mysql/not_held", func(t *testing.T) {
		r := newSlowRig(t, "mysql", 30*time.Second)
		m := r.publishDuring(t, 3*d)
		requireHandlerOK(t, m)
		if m.arrival >= m.handlerEnd {
			t.Errorf("message arrived %s after commit, not before the %s handler ended at %s",
				m.arrival, 3*d, m.handlerEnd)
		}
		r.checkDelivered(t)
	})
}

// testTxTimeoutReleases runs a handler that would take 10s under a 200ms
// TxTimeout: its transaction is rolled back at the deadline and the message
// published meanwhile is forwarded soon after, not after 10s. The handler
// waits on its context, so the test itself does not last 10s; the bound is
// loose because other tests' transactions on the same server hold rows back
// the same way.
func testTxTimeoutReleases(t *testing.T) {
	const (
		timeout = 200 * time.Millisecond
		d       = 10 * time.Second
	)
	r := newSlowRig(t, "postgres", timeout)
	m := r.publishDuring(t, d)
	if !m.run.inserted || !m.run.byCtx {
		t.Errorf("handler saw tx %v, stopped by its context %v; want both",
			m.run.inserted, m.run.byCtx)
	}
	if n := r.inboxRows(t); n != 0 {
		t.Errorf("inbox holds %d committed rows after the timed-out attempt, want 0", n)
	}
	if limit := timeout + 5*time.Second; m.arrival > limit {
		t.Errorf("message arrived %s after commit with a %s TxTimeout; want within %s, "+
			"well before the handler's %s", m.arrival, timeout, limit, d)
	}
	r.checkDelivered(t)
}

// testTxTimeoutDeafHandler: a handler that ignores its context and sleeps
// 4s under a 200ms TxTimeout does not hold the outbox back either, because
// database/sql rolls a transaction back when its context ends. The sleep is
// long so that other tests' transactions on the shared server cannot make
// the message late by chance.
func testTxTimeoutDeafHandler(t *testing.T) {
	const (
		timeout = 200 * time.Millisecond
		d       = 4 * time.Second
	)
	r := newSlowRig(t, "postgres", timeout)
	r.deaf = true
	m := r.publishDuring(t, d)
	if !m.run.inserted || m.run.byCtx {
		t.Errorf("handler saw tx %v, stopped by its context %v; want true, false",
			m.run.inserted, m.run.byCtx)
	}
	if m.handlerEnd < d*8/10 {
		t.Errorf("deaf handler ended %s after commit, want after its %s sleep", m.handlerEnd, d)
	}
	if n := r.inboxRows(t); n != 0 {
		t.Errorf("inbox holds %d committed rows after the timed-out attempt, want 0", n)
	}
	if m.arrival >= m.handlerEnd {
		t.Errorf("message arrived %s after commit, not before the deaf handler ended at %s",
			m.arrival, m.handlerEnd)
	}
	r.checkDelivered(t)
}

func requireHandlerOK(t *testing.T, m measurement) {
	t.Helper()
	if m.run.err != nil || !m.run.inserted || m.run.byCtx {
		t.Fatalf("slow handler: err %v, saw tx %v, cut by context %v; want a clean run",
			m.run.err, m.run.inserted, m.run.byCtx)
	}
}

// slowDurations are the handler durations BenchmarkSlowHandlerDelay uses;
// 0 is the baseline.
var slowDurations = []time.Duration{0, 100 * time.Millisecond, 500 * time.Millisecond,
	2 * time.Second}

// BenchmarkSlowHandlerDelay measures how long a message committed into the
// outbox takes to reach Kafka while an inbox handler in the same database
// keeps its transaction open for D. delay_ms is the mean commit-to-arrival
// time, delay/D its ratio to D (D > 0), excess_ms the delay beyond the
// handler's end. D=0 is the baseline.
func BenchmarkSlowHandlerDelay(b *testing.B) {
	for _, dialect := range testenv.Dialects {
		b.Run(dialect, func(b *testing.B) {
			r := newSlowRig(b, dialect, 30*time.Second)
			for _, d := range slowDurations {
				b.Run(fmt.Sprintf("D=%s", d), func(b *testing.B) { benchSlow(b, r, d) })
			}
			r.checkDelivered(b)
		})
	}
}

func benchSlow(b *testing.B, r *slowRig, d time.Duration) {
	var arrival, excess time.Duration
	for range b.N {
		m := r.publishDuring(b, d)
		if m.run.err != nil {
			b.Fatalf("slow handler: %v", m.run.err)
		}
		arrival += m.arrival
		excess += m.arrival - m.handlerEnd
	}
	n := time.Duration(b.N)
	b.ReportMetric(ms(arrival/n), "delay_ms")
	b.ReportMetric(ms(excess/n), "excess_ms")
	if d > 0 {
		b.ReportMetric(float64(arrival/n)/float64(d), "delay/D")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

package integration

import (
	"context"
	stdsql "database/sql"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// Load of BenchmarkLatency: 50 messages a second for 10 seconds, then an
// idle window in which the forwarder's statements are counted.
const (
	latencyRate   = 50
	latencyPeriod = 10 * time.Second
	idleWindow    = 5 * time.Second
)

// latencyCase is one forwarder set-up measured by BenchmarkLatency.
type latencyCase struct {
	name string
	impl string
	// wake passes our forwarder to the outbox as its Notifier, as a
	// forwarder in the service's own process is.
	wake bool
}

// BenchmarkLatency publishes through the outbox, one transaction per
// message at 50 msg/s for 10 s, and measures commit-to-Kafka latency: from
// the return of COMMIT to the arrival at a sarama consumer. It reports
// p50_ms, p99_ms and max_ms, on PostgreSQL held_pct (the share of the run
// in which transactions of other databases held outbox rows back from
// every reader; see docs/benchmarks.md), then counts the SQL statements
// the idle forwarder sends in 5 s (idle_stmts/s: every Exec, Query,
// Prepare, BEGIN, COMMIT and ROLLBACK through database/sql; the LISTEN
// connection, which only waits, is not counted).
//
// Cases: component is the plain composition (1 s poll); batch-listen is
// ours woken by PostgreSQL LISTEN/NOTIFY alone, as when it runs in its own
// process; batch-wake is ours also woken in-process by the outbox's
// Notifier; batch-poll (MariaDB, which has no notifications) is ours in
// another process, left to its 1 s poll.
func BenchmarkLatency(b *testing.B) {
	brokers := separateBrokers(b)
	for _, dialect := range testenv.Dialects {
		cases := []latencyCase{{"component", implComponent, false}}
		if dialect == "postgres" {
			cases = append(cases, latencyCase{"batch-listen", implBatch, false})
		} else {
			cases = append(cases, latencyCase{"batch-poll", implBatch, false})
		}
		cases = append(cases, latencyCase{"batch-wake", implBatch, true})
		for _, c := range cases {
			b.Run(dialect+"/"+c.name, func(b *testing.B) { benchLatency(b, dialect, brokers, c) })
		}
	}
}

func benchLatency(b *testing.B, dialect string, brokers []string, c latencyCase) {
	tdb := testenv.Open(b, dialect)
	migrateOutbox(b, tdb.DB, dialect)
	topic := newTopic(b, brokers)
	db, stmts, err := countingDB(dialect, tdb.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	fwd, err := startForwarder(forwarderSpec{Impl: c.impl, Brokers: brokers},
		&testenv.DB{Dialect: dialect, DSN: tdb.DSN, DB: db})
	if err != nil {
		b.Fatalf("start %s: %v", c.name, err)
	}
	defer stopForwarder(b, fwd)
	cfg := publisher.OutboxConfig{Dialect: dialect, ForwarderTopic: outboxTopic}
	if ours, ok := fwd.(*oursForwarder); ok && c.wake {
		cfg.Notifier = ours.fwd
	}
	outbox, err := publisher.NewOutbox(cfg, nil)
	if err != nil {
		b.Fatalf("outbox: %v", err)
	}
	arrivals := consumeArrivals(b, brokers, topic)
	held := watchHeldBack(b, tdb)
	b.ResetTimer()
	commits := publishSteadily(b, tdb.DB, outbox, topic)
	lat := latencies(b, tdb, commits, arrivals)
	b.StopTimer()
	if dialect == "postgres" {
		b.ReportMetric(held(), "held_pct")
	}
	b.ReportMetric(percentile(lat, 50), "p50_ms")
	b.ReportMetric(percentile(lat, 99), "p99_ms")
	b.ReportMetric(percentile(lat, 100), "max_ms")
	time.Sleep(1500 * time.Millisecond) // the last batches and acks settle
	before := stmts.Load()
	time.Sleep(idleWindow)
	b.ReportMetric(float64(stmts.Load()-before)/idleWindow.Seconds(), "idle_stmts/s")
}

// watchHeldBack samples pg_stat_activity every 20 ms until the returned
// function is called, which gives the share of samples (in percent) in
// which a transaction of another database had held an xid for over 20 ms:
// the time in which other sessions held outbox rows back from every
// reader. It does nothing, and returns 0, on MariaDB.
func watchHeldBack(b *testing.B, db *testenv.DB) func() float64 {
	if db.Dialect != "postgres" {
		return func() float64 { return 0 }
	}
	stop := make(chan struct{})
	result := make(chan float64, 1)
	go func() {
		samples, held := 0, 0
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				result <- 100 * float64(held) / float64(max(samples, 1))
				return
			case <-tick.C:
			}
			var n int
			err := db.DB.QueryRow(`SELECT count(*) FROM pg_stat_activity
				WHERE backend_xid IS NOT NULL AND datname <> current_database()
				AND now() - xact_start > interval '20 milliseconds'`).Scan(&n)
			samples++
			if err == nil && n > 0 {
				held++
			}
		}
	}()
	var once sync.Once
	var pct float64
	finish := func() float64 {
		once.Do(func() { close(stop); pct = <-result })
		return pct
	}
	b.Cleanup(func() { finish() })
	return finish
}

// publishSteadily commits one message per transaction at latencyRate for
// latencyPeriod and returns each message's commit time by UUID.
func publishSteadily(b *testing.B, db *stdsql.DB, outbox *publisher.Outbox,
	topic string) map[string]time.Time {
	ctx := context.Background()
	commits := make(map[string]time.Time)
	tick := time.NewTicker(time.Second / latencyRate)
	defer tick.Stop()
	for i := 0; i < latencyRate*int(latencyPeriod/time.Second); i++ {
		<-tick.C
		msg := testMessage(i)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatalf("begin: %v", err)
		}
		if err := outbox.Publish(ctx, tx, topic, msg); err != nil {
			_ = tx.Rollback()
			b.Fatalf("publish: %v", err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatalf("commit: %v", err)
		}
		commits[msg.UUID] = time.Now()
		outbox.Notify()
	}
	return commits
}

// arrivalLog records when each UUID first reached the consumer.
type arrivalLog struct {
	mu   sync.Mutex
	at   map[string]time.Time
	news chan struct{}
}

// consumeArrivals consumes the topic's only partition from its start and
// records arrival times until the benchmark ends. The consumer asks the
// broker to answer a fetch at most 5 ms after data is there, so the
// measurement adds little of its own.
func consumeArrivals(b testing.TB, brokers []string, topic string) *arrivalLog {
	cfg := saramaConfig()
	cfg.Consumer.MaxWaitTime = 5 * time.Millisecond
	consumer, err := sarama.NewConsumer(brokers, cfg)
	if err != nil {
		b.Fatalf("consumer: %v", err)
	}
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		b.Fatalf("consume %q: %v", topic, err)
	}
	log := &arrivalLog{at: make(map[string]time.Time), news: make(chan struct{}, 1)}
	go func() {
		for m := range pc.Messages() {
			now := time.Now()
			log.add(toRecord(m).UUID, now)
		}
	}()
	b.Cleanup(func() { _ = pc.Close(); _ = consumer.Close() })
	return log
}

func (l *arrivalLog) add(id string, at time.Time) {
	l.mu.Lock()
	if _, ok := l.at[id]; !ok {
		l.at[id] = at
	}
	l.mu.Unlock()
	select {
	case l.news <- struct{}{}:
	default:
	}
}

// latencies waits up to 60 s for every committed message to arrive and
// returns the commit-to-arrival times in milliseconds, sorted. On
// PostgreSQL a transaction left open anywhere on the server holds back
// every row committed after it began; a failure names such transactions.
func latencies(b testing.TB, db *testenv.DB, commits map[string]time.Time,
	arrivals *arrivalLog) []float64 {
	deadline := time.After(60 * time.Second)
	for {
		arrivals.mu.Lock()
		n := len(arrivals.at)
		arrivals.mu.Unlock()
		if n >= len(commits) {
			break
		}
		select {
		case <-arrivals.news:
		case <-deadline:
			holders := "none"
			if db.Dialect == "postgres" {
				holders = xminHolders(db)
			}
			b.Fatalf("%d of %d messages arrived within 60 s of the last commit; "+
				"open transactions: %s", n, len(commits), holders)
		}
	}
	arrivals.mu.Lock()
	defer arrivals.mu.Unlock()
	out := make([]float64, 0, len(commits))
	for id, c := range commits {
		at, ok := arrivals.at[id]
		if !ok {
			b.Fatalf("message %s never arrived", id)
		}
		out = append(out, float64(at.Sub(c).Microseconds())/1000)
	}
	slices.Sort(out)
	return out
}

// percentile returns the p-th percentile (nearest rank) of sorted values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

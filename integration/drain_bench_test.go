package integration

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// Backlog sizes of BenchmarkDrain: the reference size and the ends
// of the range over which the drain rate must stay flat.
const (
	backlogRef   = 20000
	backlogSmall = 5000
	backlogLarge = 200000
)

// BenchmarkDrain measures how fast a backlog of committed outbox rows reaches
// Kafka, with the broker in a process of its own (or KAFKA_BROKERS). Each
// leaf reports msgs/s (rows over the time from starting the forwarder to
// the last record in Kafka), steady_msgs/s (from the first record to the
// last) and ms_first (time to the first record). batch-20000 also reports
// its msgs/s over that of the plain composition measured just before it
// (x_component). batch-5000 and batch-200000 measure whether the rate
// stays flat with the backlog: each is drained several times on fresh
// databases, reports medians, and times windows of windowRows rows by the
// records' send times (see drainWindows); batch-200000's x_5000_steady is
// the median rate of its windows while 150,000 or more rows were pending
// over the median rate of batch-5000's (1.0 is perfectly flat). sarama-raw
// is the rate of bare sarama SendMessages batches of 1,000, about the
// ceiling of any forwarder on this broker; sql-noop-20000 reads the rows
// with the plain composition's SQL subscriber and sends nothing, the
// ceiling its SQL side sets.
func BenchmarkDrain(b *testing.B) {
	brokers := separateBrokers(b)
	b.Run("sarama-raw", func(b *testing.B) {
		b.ReportMetric(rawSaramaRate(b, brokers, 50000), "msgs/s")
	})
	for _, dialect := range testenv.Dialects {
		b.Run(dialect, func(b *testing.B) { benchDrainDialect(b, dialect, brokers) })
	}
}

func benchDrainDialect(b *testing.B, dialect string, brokers []string) {
	var component drainRates
	var small float64
	b.Run(fmt.Sprintf("component-%d", backlogRef), func(b *testing.B) {
		component = drainRate(b, implComponent, dialect, brokers, backlogRef)
	})
	b.Run(fmt.Sprintf("sql-noop-%d", backlogRef), func(b *testing.B) {
		b.ReportMetric(sqlNoopRate(b, dialect, backlogRef), "msgs/s")
	})
	b.Run(fmt.Sprintf("batch-%d", backlogRef), func(b *testing.B) {
		ours := drainRate(b, implBatch, dialect, brokers, backlogRef)
		if component.whole > 0 {
			b.ReportMetric(ours.whole/component.whole, "x_component")
		}
	})
	if os.Getenv(envComponentFlat) != "" {
		b.Run(fmt.Sprintf("component-flat-%d", componentFlatRows), func(b *testing.B) {
			benchComponentFlat(b, dialect, brokers)
		})
	}
	var runsLarge []drainRates
	b.Run(fmt.Sprintf("batch-%d", backlogSmall), func(b *testing.B) {
		var runs []drainRates
		runs, runsLarge = flatSeries(b, dialect, brokers)
		reportDrains(b, runs)
		small = reportSpread(b, pickWindows(runs, 0, 1), "win_msgs/s")
	})
	b.Run(fmt.Sprintf("batch-%d", backlogLarge), func(b *testing.B) {
		if len(runsLarge) == 0 {
			b.Skip("no 200,000-row drains: batch-5000, which runs them, did not run")
		}
		reportDrains(b, runsLarge)
		n := len(runsLarge[0].windows)
		high := reportSpread(b, pickWindows(runsLarge, 0, n/4), "win_msgs/s")
		b.ReportMetric(median(pickWindows(runsLarge, 0, 1)), "win_first_msgs/s")
		b.ReportMetric(median(pickWindows(runsLarge, n-n/4, n)), "win_late_msgs/s")
		if small > 0 {
			b.ReportMetric(high/small, "x_5000_steady")
		}
	})
}

// The flatness series: flatRounds rounds, each of flatSmallPerRound
// drains of 5,000 rows with one of 200,000 rows in their middle. One
// 5,000-row drain lasts only about 0.15 s, so a single one is at the mercy
// of a hiccup; a 200,000-row one lasts about 6 s and costs about as much to
// fill. Interleaving them makes both sizes meet the same moments of the
// machine (checkpoints, other work) instead of one size meeting a quiet
// minute and the other a busy one.
const (
	flatRounds        = 3
	flatSmallPerRound = 4
)

// flatSeries runs the flatness series, each drain on a fresh database,
// and returns the small and the large drains with their windows.
func flatSeries(b *testing.B, dialect string, brokers []string) (small, large []drainRates) {
	for range flatRounds {
		for i := range flatSmallPerRound {
			if i == flatSmallPerRound/2 {
				large = append(large, drainOnce(b, implBatch, dialect, brokers, backlogLarge, true))
			}
			small = append(small, drainOnce(b, implBatch, dialect, brokers, backlogSmall, true))
		}
	}
	return small, large
}

// reportDrains reports the medians of the whole-drain metrics of runs.
func reportDrains(b *testing.B, runs []drainRates) {
	var whole, steady, first []float64
	for _, r := range runs {
		whole, steady = append(whole, r.whole), append(steady, r.steady)
		first = append(first, float64(r.first.Milliseconds()))
	}
	b.ReportMetric(median(whole), "msgs/s")
	b.ReportMetric(median(steady), "steady_msgs/s")
	b.ReportMetric(median(first), "ms_first")
}

// pickWindows pools windows from to to (exclusive) of every run.
func pickWindows(runs []drainRates, from, to int) []float64 {
	var out []float64
	for _, r := range runs {
		out = append(out, r.windows[from:min(to, len(r.windows))]...)
	}
	return out
}

func median(v []float64) float64 {
	med, _, _ := spread(slices.Clone(v))
	return med
}

// drainRate drains n rows once and reports the rates.
func drainRate(b *testing.B, impl, dialect string, brokers []string, n int) drainRates {
	r := drainOnce(b, impl, dialect, brokers, n, false)
	b.ReportMetric(r.whole, "msgs/s")
	b.ReportMetric(r.steady, "steady_msgs/s")
	b.ReportMetric(float64(r.first.Milliseconds()), "ms_first")
	return r
}

// drainOnce fills a fresh outbox with n rows, starts the forwarder and
// times it until Kafka holds all n records. Filling is not timed; with
// windows set, the window rates are read from Kafka afterwards.
func drainOnce(b *testing.B, impl, dialect string, brokers []string, n int,
	windows bool) drainRates {
	db := testenv.Open(b, dialect)
	migrateOutbox(b, db.DB, dialect)
	topic := newTopic(b, brokers)
	fillOutbox(b, db.DB, dialect, topic, n)
	waitVisible(b, db, n)
	settleTable(b, db)
	b.ResetTimer()
	start := time.Now()
	spec := forwarderSpec{Impl: impl, Brokers: brokers, BatchSize: drainBatch}
	fwd, err := startForwarder(spec, db)
	if err != nil {
		b.Fatalf("start %s forwarder: %v", impl, err)
	}
	defer stopForwarder(b, fwd)
	wait := 60*time.Second + time.Duration(n)*time.Millisecond
	first, err := waitForRecords(context.Background(), brokers, topic, 1, wait)
	if err != nil {
		b.Fatalf("first record with %s: %v", impl, err)
	}
	if _, err := waitForRecords(context.Background(), brokers, topic, int64(n), wait); err != nil {
		b.Fatalf("drain %d rows with %s: %v", n, impl, err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	r := drainRates{
		whole:  float64(n) / elapsed.Seconds(),
		steady: float64(n-1) / (elapsed - first).Seconds(),
		first:  first,
	}
	if windows {
		r.windows = drainWindows(b, brokers, topic, n, start, start.Add(elapsed))
	}
	return r
}

// drainRates are the rates of one drain: whole is rows over the time from
// starting the forwarder to the last record, steady is rows over the time
// from the first record to the last, without the start-up; first is the
// time to the first record; windows, when asked for, the window rates.
type drainRates struct {
	whole, steady float64
	first         time.Duration
	windows       windowRates
}

// waitVisible waits, up to 30 s, until all n outbox rows are readable by the
// rule watermill-sql's PostgreSQL schema follows: a row is read only once
// every transaction older than its own has ended. Transactions of other
// databases on the same server count, so concurrent tests elsewhere could
// otherwise add a poll interval to the first read of either forwarder.
func waitVisible(t testing.TB, db *testenv.DB, n int) {
	t.Helper()
	if db.Dialect != "postgres" {
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got int
		err := db.DB.QueryRow(`SELECT count(*) FROM watermill_outbox
			WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())`).Scan(&got)
		if err != nil {
			t.Fatalf("count visible outbox rows: %v", err)
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d outbox rows visible after 30s; open transactions: %s",
				got, n, xminHolders(db))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sqlNoopRate reads n outbox rows with a watermill-sql subscriber of default
// settings and acknowledges each at once, sending nothing: the ceiling the
// SQL side puts on the plain composition. It returns messages per second.
func sqlNoopRate(b *testing.B, dialect string, n int) float64 {
	db := testenv.Open(b, dialect)
	migrateOutbox(b, db.DB, dialect)
	fillOutbox(b, db.DB, dialect, "noop", n)
	waitVisible(b, db, n)
	settleTable(b, db)
	b.ResetTimer()
	start := time.Now()
	sub, err := wsql.NewSubscriber(db.DB, wsql.SubscriberConfig{
		SchemaAdapter:  schemaAdapter(dialect),
		OffsetsAdapter: offsetsAdapter(dialect),
	}, watermill.NopLogger{})
	if err != nil {
		b.Fatalf("sql subscriber: %v", err)
	}
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	msgs, err := sub.Subscribe(ctx, outboxTopic)
	if err != nil {
		b.Fatalf("subscribe: %v", err)
	}
	for got := 0; got < n; got++ {
		select {
		case m := <-msgs:
			m.Ack()
		case <-ctx.Done():
			b.Fatalf("%d of %d rows read in time", got, n)
		}
	}
	b.StopTimer()
	return float64(n) / time.Since(start).Seconds()
}

// settleTable vacuums and analyzes the freshly filled outbox, as autovacuum
// would have done for a backlog that built up over time, so that it does
// not start in the middle of the timed drain and take one of the two cores.
func settleTable(t testing.TB, db *testenv.DB) {
	t.Helper()
	q := "VACUUM ANALYZE watermill_outbox"
	if db.Dialect == "mysql" {
		q = "ANALYZE TABLE watermill_outbox"
	}
	if _, err := db.DB.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// xminHolders describes the oldest transactions on the PostgreSQL server
// that hold an xid, the ones that keep later outbox rows from readers.
func xminHolders(db *testenv.DB) string {
	rows, err := db.DB.Query(`SELECT datname, now() - xact_start, left(query, 60)
		FROM pg_stat_activity WHERE backend_xid IS NOT NULL
		ORDER BY xact_start LIMIT 3`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name, age, query string
		if err := rows.Scan(&name, &age, &query); err != nil {
			return err.Error()
		}
		out = append(out, fmt.Sprintf("%s open %s running %q", name, age, query))
	}
	return strings.Join(out, "; ")
}

func stopForwarder(t testing.TB, fwd runningForwarder) {
	t.Helper()
	if err := fwd.stop(); err != nil {
		t.Errorf("stop forwarder: %v", err)
	}
}

// rawSaramaRate sends n messages of outbox size, built beforehand, in
// batches of rawBatch through one sarama SyncProducer.SendMessages per batch
// and returns messages/s.
func rawSaramaRate(b *testing.B, brokers []string, n int) float64 {
	topic := newTopic(b, brokers)
	prod, err := sarama.NewSyncProducer(brokers, saramaConfig())
	if err != nil {
		b.Fatalf("sync producer: %v", err)
	}
	defer prod.Close()
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range msgs {
		m := testMessage(i)
		msgs[i] = &sarama.ProducerMessage{
			Topic:   topic,
			Value:   sarama.ByteEncoder(m.Payload),
			Headers: []sarama.RecordHeader{{Key: []byte("uuid"), Value: []byte(m.UUID)}},
		}
	}
	b.ResetTimer()
	start := time.Now()
	for done := 0; done < n; done += rawBatch {
		if err := prod.SendMessages(msgs[done:min(done+rawBatch, n)]); err != nil {
			b.Fatalf("send messages: %v", err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	return float64(n) / elapsed.Seconds()
}

// rawBatch is the batch size of the raw sarama reference.
const rawBatch = 1000

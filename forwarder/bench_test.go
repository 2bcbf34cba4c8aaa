package forwarder_test

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/forwarder"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// benchRows is the backlog BenchmarkModes drains.
const benchRows = 10000

// BenchmarkModes drains a backlog of 10,000 outbox rows with each Mode of
// this package, the Kafka broker in this process (or KAFKA_BROKERS). Each
// leaf reports msgs/s; batch also reports its ratio to component, measured
// just before it in the same run (x_component). The cross-process numbers
// the project's targets are about are in package integration's
// BenchmarkDrain; this one isolates the forwarder from the second process.
func BenchmarkModes(b *testing.B) {
	brokers := testenv.Kafka(b)
	for _, dialect := range testenv.Dialects {
		b.Run(dialect, func(b *testing.B) {
			var component float64
			b.Run("component", func(b *testing.B) {
				component = benchDrain(b, dialect, brokers, forwarder.ModeComponent)
			})
			b.Run("batch", func(b *testing.B) {
				rate := benchDrain(b, dialect, brokers, forwarder.ModeBatch)
				if component > 0 {
					b.ReportMetric(rate/component, "x_component")
				}
			})
		})
	}
}

// benchDrain fills a fresh outbox, then times one forwarder in mode from
// start until Kafka holds every row, and returns rows per second.
func benchDrain(b *testing.B, dialect string, brokers []string, mode forwarder.Mode) float64 {
	db := testenv.Open(b, dialect)
	if err := publisher.Migrate(context.Background(), db.DB, dialect); err != nil {
		b.Fatalf("migrate: %v", err)
	}
	topic := testenv.Unique("bench_")
	testenv.CreateTopic(b, brokers, topic, 1)
	benchFill(b, db.DB, dialect, topic, benchRows)
	benchVisible(b, db)
	b.ResetTimer()
	start := time.Now()
	fwd, err := forwarder.New(forwarder.Config{
		DB: db.DB, Dialect: dialect, Brokers: brokers, Mode: mode,
	})
	if err != nil {
		b.Fatalf("new forwarder: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- fwd.Run(context.Background()) }()
	defer func() {
		if err := fwd.Close(); err != nil {
			b.Errorf("close: %v", err)
		}
		<-done
	}()
	if err := benchWait(brokers, topic, benchRows, 90*time.Second); err != nil {
		b.Fatalf("%s: %v", mode, err)
	}
	rate := float64(benchRows) / time.Since(start).Seconds()
	b.StopTimer()
	b.ReportMetric(rate, "msgs/s")
	return rate
}

// benchFill commits n messages through the outbox in transactions of 5,000
// rows and calls of 1,000 messages.
func benchFill(b *testing.B, db *sql.DB, dialect, topic string, n int) {
	outbox, err := publisher.NewOutbox(publisher.OutboxConfig{Dialect: dialect}, nil)
	if err != nil {
		b.Fatalf("outbox: %v", err)
	}
	pad := strings.Repeat("x", 180)
	for done := 0; done < n; done += 5000 {
		tx, err := db.Begin()
		if err != nil {
			b.Fatalf("begin: %v", err)
		}
		for i := done; i < min(done+5000, n); i += 1000 {
			msgs := make([]*message.Message, 0, 1000)
			for j := i; j < min(i+1000, n); j++ {
				payload := `{"seq":` + strconv.Itoa(j) + `,"pad":"` + pad + `"}`
				msgs = append(msgs, message.NewMessage(watermill.NewUUID(), []byte(payload)))
			}
			if err := outbox.Publish(context.Background(), tx, topic, msgs...); err != nil {
				b.Fatalf("publish: %v", err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatalf("commit: %v", err)
		}
	}
}

// benchVisible waits up to 30 s until PostgreSQL lets a reader see the
// filled rows: a transaction open anywhere on the server (another test's
// CREATE DATABASE, say) holds back rows committed after it began, and that
// wait is no part of what this benchmark compares.
func benchVisible(b *testing.B, db *testenv.DB) {
	if db.Dialect != forwarder.DialectPostgres {
		return
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		var n int
		err := db.DB.QueryRow(`SELECT count(*) FROM watermill_outbox
			WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())`).Scan(&n)
		if err != nil {
			b.Fatalf("count held-back rows: %v", err)
		}
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatalf("outbox rows still held back by an open transaction after 30 s")
}

// benchWait polls the topic's high watermark every 10 ms until it reaches n.
func benchWait(brokers []string, topic string, n int64, wait time.Duration) error {
	cfg := sarama.NewConfig()
	cfg.Version = testenv.KafkaVersion
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer client.Close()
	deadline := time.Now().Add(wait)
	var got int64
	for time.Now().Before(deadline) {
		got, err = client.GetOffset(topic, 0, sarama.OffsetNewest)
		if err == nil && got >= n {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("topic %q: %d of %d records after %s (last error: %v)",
		topic, got, n, wait, err)
}

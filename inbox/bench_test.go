package inbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// benchMessages is how many messages each side handles per iteration, in
// alternating rounds so that drift in the server hits both sides alike.
const (
	benchMessages = 400
	benchRounds   = 8
)

// BenchmarkInboxOverhead handles messages with a handler that writes one
// row in a transaction, once bare (begin, insert, commit) and once wrapped
// in the inbox (which adds the key insert, processed_at included, to the
// same transaction), and reports the ratio of the two times as
// x-overhead, plus each side's time per message.
func BenchmarkInboxOverhead(b *testing.B) {
	for _, d := range testenv.Dialects {
		b.Run(d, func(b *testing.B) { benchOverhead(b, newEnv(b, d)) })
	}
}

func benchOverhead(b *testing.B, e *env) {
	q := `INSERT INTO effects (message_id, note) VALUES (` + e.ph(1) + `, ` + e.ph(2) + `)`
	bare := func(msg *message.Message) ([]*message.Message, error) {
		tx, err := e.db.DB.BeginTx(msg.Context(), nil)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(msg.Context(), q, msg.UUID, "bare"); err != nil {
			_ = tx.Rollback()
			return nil, err
		}
		return nil, tx.Commit()
	}
	c := e.config()
	c.Registerer = nil
	wrapped := e.inbox(c).Middleware(func(msg *message.Message) ([]*message.Message, error) {
		return nil, e.write(msg, "inbox")
	})
	var bareTime, inboxTime time.Duration
	b.ResetTimer()
	for b.Loop() {
		for range benchRounds {
			bareTime += timeHandler(b, bare, benchMessages/benchRounds)
			inboxTime += timeHandler(b, wrapped, benchMessages/benchRounds)
		}
	}
	n := float64(b.N * benchMessages)
	b.ReportMetric(float64(inboxTime)/float64(bareTime), "x-overhead")
	b.ReportMetric(float64(bareTime.Nanoseconds())/n, "ns/msg-bare")
	b.ReportMetric(float64(inboxTime.Nanoseconds())/n, "ns/msg-inbox")
	if got := e.count(`SELECT COUNT(*) FROM effects`); got != 2*int(n) {
		b.Fatalf("effects = %d, want %d", got, 2*int(n))
	}
}

func timeHandler(b *testing.B, h message.HandlerFunc, n int) time.Duration {
	start := time.Now()
	for range n {
		msg := newMsg("bench")
		msg.SetContext(context.Background())
		if _, err := h(msg); err != nil {
			b.Fatalf("handler: %v", err)
		}
	}
	return time.Since(start)
}

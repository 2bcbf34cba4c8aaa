package forwarder_test

import (
	"testing"
	"time"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// TestLateCommitIsNotSkipped: a publishing transaction that writes first
// and commits last is not skipped. While it is open, a message committed
// after it is not forwarded (PostgreSQL: the visibility rule; MySQL: the
// locking read waits for its row); once it commits, both arrive, in the
// order of their rows.
func TestLateCommitIsNotSkipped(t *testing.T) {
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, 1, 1)
			start(t, e.config())
			slow, err := e.db.DB.BeginTx(ctx(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = slow.Rollback() }()
			if err := e.outbox.Publish(ctx(t), slow, e.kafka, msg("k", 1)); err != nil {
				t.Fatal(err)
			}
			e.publish(e.outbox, msg("k", 2))
			if got := consume(t, e.brokers, e.kafka, 1, time.Second); len(got) != 0 {
				t.Fatalf("seq %s forwarded while an earlier writer was open", header(got[0], "seq"))
			}
			if err := slow.Commit(); err != nil {
				t.Fatal(err)
			}
			got := consume(t, e.brokers, e.kafka, 2, 15*time.Second)
			if len(got) != 2 || header(got[0], "seq") != "1" || header(got[1], "seq") != "2" {
				t.Fatalf("got %d records, want seq 1 then 2", len(got))
			}
		})
	}
}

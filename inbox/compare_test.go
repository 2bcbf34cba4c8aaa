package inbox_test

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// deliver hands msg to h the way an at-least-once broker does: again after
// every error, at most five times, and then once more as a duplicate.
func deliver(t *testing.T, h message.HandlerFunc, msg *message.Message) {
	t.Helper()
	for range 5 {
		if _, err := h(msg.Copy()); err == nil {
			_, _ = h(msg.Copy())
			return
		}
	}
	t.Fatalf("message %s never acknowledged", msg.UUID)
}

// failOnce fails the first call before doing anything, then applies apply.
func failOnce(apply func(*message.Message) error) message.HandlerFunc {
	var calls atomic.Int32
	return func(msg *message.Message) ([]*message.Message, error) {
		if calls.Add(1) == 1 {
			return nil, errors.New("transient failure")
		}
		return nil, apply(msg)
	}
}

// TestDeduplicatorLosesWhatInboxApplies runs the same scenarios through
// Watermill's middleware.Deduplicator and through the inbox. The
// Deduplicator marks a message seen before its handler runs, so the
// redelivery after a failure is dropped and the message is lost; and it
// keys by payload hash, so a different message with the same payload is
// dropped too. The inbox applies each exactly once.
func TestDeduplicatorLosesWhatInboxApplies(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		direct := func(msg *message.Message) error {
			q := `INSERT INTO effects (message_id, note) VALUES (` + e.ph(1) + `, 'direct')`
			_, err := e.db.DB.Exec(q, msg.UUID)
			return err
		}
		dedup := (&middleware.Deduplicator{}).Middleware
		inboxed := e.inbox(e.config()).Middleware
		inTx := func(msg *message.Message) error { return e.write(msg, "inbox") }

		lost := newMsg("fail once")
		deliver(t, dedup(failOnce(direct)), lost)
		if n := e.effects(lost.UUID); n != 0 {
			t.Fatalf("Deduplicator: effects = %d; expected the retried message to be lost", n)
		}
		kept := newMsg("fail once")
		deliver(t, inboxed(failOnce(inTx)), kept)
		if n := e.effects(kept.UUID); n != 1 {
			t.Fatalf("inbox: effects = %d, want exactly 1", n)
		}

		// Two distinct events that happen to carry the same payload.
		a, b := newMsg("same payload"), newMsg("same payload")
		h := dedup(func(m *message.Message) ([]*message.Message, error) { return nil, direct(m) })
		deliver(t, h, a)
		deliver(t, h, b)
		if e.effects(a.UUID)+e.effects(b.UUID) != 1 {
			t.Fatal("Deduplicator: expected the second event with an equal payload to be dropped")
		}
		c, d := newMsg("same payload"), newMsg("same payload")
		hi := inboxed(func(m *message.Message) ([]*message.Message, error) { return nil, inTx(m) })
		deliver(t, hi, c)
		deliver(t, hi, d)
		if e.effects(c.UUID) != 1 || e.effects(d.UUID) != 1 {
			t.Fatal("inbox: want each distinct event applied once")
		}
	})
}

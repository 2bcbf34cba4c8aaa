package inbox_test

import (
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// TestCloseThenReuse: Close releases the prepared insert, and an Inbox used
// after Close prepares it again and still tells duplicates apart.
func TestCloseThenReuse(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		ib := e.inbox(e.config())
		h := ib.Middleware(func(msg *message.Message) ([]*message.Message, error) {
			return nil, e.write(msg, "effect")
		})
		first, second := newMsg("a"), newMsg("b")
		if _, err := h(first); err != nil {
			t.Fatalf("first message: %v", err)
		}
		if err := ib.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		if err := ib.Close(); err != nil {
			t.Fatalf("second close: %v", err)
		}
		for _, m := range []*message.Message{first.Copy(), second, second.Copy()} {
			if _, err := h(m); err != nil {
				t.Fatalf("message %s after close: %v", m.UUID, err)
			}
		}
		if n := e.effects(first.UUID) + e.effects(second.UUID); n != 2 {
			t.Fatalf("%d effects for two distinct messages delivered five times, want 2", n)
		}
	})
}

// TestOneConnectionPool: with a pool of one connection, which the
// transaction takes, the key insert still runs (on MySQL it is prepared
// before the transaction begins), so messages are applied instead of every
// attempt waiting for a second connection until TxTimeout and the message
// being poisoned.
func TestOneConnectionPool(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		e.db.DB.SetMaxOpenConns(1)
		c := e.config()
		c.TxTimeout = time.Second
		ib := e.inbox(c)
		h := ib.Middleware(func(msg *message.Message) ([]*message.Message, error) {
			return nil, e.write(msg, "effect")
		})
		first, second := newMsg("a"), newMsg("b")
		for _, m := range []*message.Message{first, second, first.Copy()} {
			if _, err := h(m); err != nil {
				t.Fatalf("message %s: %v", m.UUID, err)
			}
		}
		if got := e.metric("poisoned_total"); got != 0 {
			t.Fatalf("%v messages poisoned, want 0", got)
		}
		if got := e.metric("retried_total"); got != 0 {
			t.Fatalf("%v retries, want 0", got)
		}
		if n := e.effects(first.UUID) + e.effects(second.UUID); n != 2 {
			t.Fatalf("%d effects for two distinct messages delivered three times, want 2", n)
		}
	})
}

package inbox_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/inbox"
)

// failingPublisher refuses every message, like an unreachable broker.
type failingPublisher struct{}

func (failingPublisher) Publish(string, ...*message.Message) error {
	return errors.New("broker unreachable")
}

func (failingPublisher) Close() error { return nil }

func TestPanicEveryTimeIsPoisonedWithItsValue(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		c := e.config()
		c.MaxAttempts = 2
		h := e.inbox(c).Middleware(func(msg *message.Message) ([]*message.Message, error) {
			if err := e.write(msg, "before panic"); err != nil {
				return nil, err
			}
			panic(errors.New("broken invariant"))
		})
		msg := newMsg("always panics")
		if _, err := h(msg); err != nil {
			t.Fatalf("handle: %v (want nil: poisoned and acked)", err)
		}
		if n := e.effects(msg.UUID); n != 0 {
			t.Fatalf("effects = %d, want 0", n)
		}
		got := e.poisoned(c.PoisonTopic, 1, 5*time.Second)
		if len(got) != 1 {
			t.Fatalf("poisoned %d messages, want 1", len(got))
		}
		reason := got[0].Metadata.Get(inbox.MetadataPoisonError)
		if !strings.Contains(reason, "panicked") || !strings.Contains(reason, "broken invariant") {
			t.Fatalf("poison error %q lacks the panic", reason)
		}
	})
}

func TestPermanentErrorSkipsRetries(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		var calls atomic.Int32
		c := e.config()
		h := e.inbox(c).Middleware(func(msg *message.Message) ([]*message.Message, error) {
			calls.Add(1)
			return nil, inbox.Permanent(errors.New("payload does not decode"))
		})
		msg := newMsg("{not json")
		if _, err := h(msg); err != nil {
			t.Fatalf("handle: %v", err)
		}
		if calls.Load() != 1 {
			t.Fatalf("handler ran %d times, want 1", calls.Load())
		}
		got := e.poisoned(c.PoisonTopic, 1, 5*time.Second)
		if len(got) != 1 || got[0].Metadata.Get(inbox.MetadataPoisonAttempts) != "1" {
			t.Fatalf("poisoned = %d messages, want 1 with attempts 1", len(got))
		}
		if e.metric("retried_total") != 0 {
			t.Fatalf("retried = %v, want 0", e.metric("retried_total"))
		}
	})
}

func TestPoisonPublishFailureNacksInsteadOfDropping(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		c := e.config()
		c.Publisher = failingPublisher{}
		h := e.inbox(c).Middleware(func(msg *message.Message) ([]*message.Message, error) {
			return nil, errors.New("always fails")
		})
		_, err := h(newMsg("stuck"))
		if err == nil || !strings.Contains(err.Error(), "broker unreachable") ||
			!strings.Contains(err.Error(), "always fails") {
			t.Fatalf("err = %v, want both the publish and the handler error (nack)", err)
		}
		if e.metric("poisoned_total") != 0 {
			t.Fatal("counted as poisoned although the poison publish failed")
		}
	})
}

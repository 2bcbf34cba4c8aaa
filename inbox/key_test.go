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

func TestEmptyKeyIsPoisoned(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		var calls atomic.Int32
		c := e.config()
		c.KeyMetadata = "event_id"
		h := e.inbox(c).Middleware(func(msg *message.Message) ([]*message.Message, error) {
			calls.Add(1)
			return nil, e.write(msg, "keyed")
		})
		noKey := newMsg("no key")
		if _, err := h(noKey); err != nil {
			t.Fatalf("handle: %v", err)
		}
		got := e.poisoned(c.PoisonTopic, 1, 5*time.Second)
		if len(got) != 1 || got[0].UUID != noKey.UUID {
			t.Fatalf("poisoned %d messages, want the keyless one", len(got))
		}
		if r := got[0].Metadata.Get(inbox.MetadataPoisonError); !strings.Contains(r, "empty") {
			t.Fatalf("poison error %q does not name the empty key", r)
		}
		// Two messages with different UUIDs but one event_id apply once.
		for range 2 {
			m := newMsg("keyed")
			m.Metadata.Set("event_id", "order-42")
			if _, err := h(m); err != nil {
				t.Fatalf("handle keyed: %v", err)
			}
		}
		if calls.Load() != 1 || e.count(`SELECT COUNT(*) FROM effects`) != 1 {
			t.Fatalf("handler ran %d times, want 1", calls.Load())
		}
	})
}

func TestKeyFuncEmptyKeyIsPermanentError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "postgres")
	c := e.config()
	c.KeyFunc = func(*message.Message) (string, error) { return "", nil }
	h := e.inbox(c).Middleware(func(*message.Message) ([]*message.Message, error) {
		t.Error("handler ran for a message without key")
		return nil, nil
	})
	if _, err := h(newMsg("x")); err != nil {
		t.Fatalf("handle: %v", err)
	}
	got := e.poisoned(c.PoisonTopic, 1, 5*time.Second)
	if len(got) != 1 || got[0].Metadata.Get(inbox.MetadataPoisonAttempts) != "0" {
		t.Fatalf("want one poisoned message with 0 attempts, got %d", len(got))
	}
}

func TestKeyFuncErrorPoisonsWithoutRunningTheHandler(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "mysql")
	c := e.config()
	c.KeyFunc = func(*message.Message) (string, error) { return "", errors.New("no tenant") }
	h := e.inbox(c).Middleware(func(*message.Message) ([]*message.Message, error) {
		t.Error("handler ran for a message whose key failed")
		return nil, nil
	})
	if _, err := h(newMsg("x")); err != nil {
		t.Fatalf("handle: %v", err)
	}
	got := e.poisoned(c.PoisonTopic, 1, 5*time.Second)
	if len(got) != 1 || !strings.Contains(got[0].Metadata.Get(inbox.MetadataPoisonError),
		"no tenant") {
		t.Fatalf("want one poisoned message naming the key error, got %d", len(got))
	}
}

func TestUnstorableKeysArePoisoned(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "postgres")
	c := e.config()
	c.KeyMetadata = "key"
	h := e.inbox(c).Middleware(func(*message.Message) ([]*message.Message, error) {
		t.Error("handler ran for an unstorable key")
		return nil, nil
	})
	for _, key := range []string{strings.Repeat("k", inbox.MaxKeyLen+1), "a\x00b", "\xff\xfe"} {
		m := newMsg("x")
		m.Metadata.Set("key", key)
		if _, err := h(m); err != nil {
			t.Fatalf("key %q: %v", key, err)
		}
	}
	got := e.poisoned(c.PoisonTopic, 3, 5*time.Second)
	if len(got) != 3 {
		t.Fatalf("poisoned %d messages, want 3", len(got))
	}
	for _, m := range got {
		if !strings.Contains(m.Metadata.Get(inbox.MetadataPoisonError), "invalid message key") {
			t.Errorf("poison error %q", m.Metadata.Get(inbox.MetadataPoisonError))
		}
	}
}

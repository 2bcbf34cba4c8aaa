package inbox_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/inbox"
)

func TestDuplicateDeliveryAppliedOnce(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		var calls atomic.Int32
		h := e.inbox(e.config()).Middleware(func(msg *message.Message) ([]*message.Message, error) {
			calls.Add(1)
			return nil, e.write(msg, "once")
		})
		msg := newMsg("hello")
		for i := range 2 {
			if _, err := h(msg.Copy()); err != nil {
				t.Fatalf("delivery %d: %v", i+1, err)
			}
		}
		if n := e.effects(msg.UUID); n != 1 {
			t.Fatalf("effects = %d, want 1", n)
		}
		if calls.Load() != 1 {
			t.Fatalf("handler ran %d times, want 1", calls.Load())
		}
		if p, d := e.metric("processed_total"), e.metric("duplicate_total"); p != 1 || d != 1 {
			t.Fatalf("processed = %v, duplicate = %v; want 1, 1", p, d)
		}
	})
}

func TestConcurrentDeliveryAppliedOnce(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) { concurrentDelivery(t, e, nil) })
}

// TestConcurrentDeliverySerializable repeats the test at the strictest
// isolation level, where the waiting delivery fails with a serialization
// error or deadlock instead of seeing the committed row; the retry then
// finds it.
func TestConcurrentDeliverySerializable(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		concurrentDelivery(t, e, &sql.TxOptions{Isolation: sql.LevelSerializable})
	})
}

func concurrentDelivery(t *testing.T, e *env, opts *sql.TxOptions) {
	c := e.config()
	c.TxOptions = opts
	c.MaxAttempts = 10 // a MySQL deadlock between waiters costs an attempt
	h := e.inbox(c).Middleware(func(msg *message.Message) ([]*message.Message, error) {
		if err := e.write(msg, "concurrent"); err != nil {
			return nil, err
		}
		time.Sleep(150 * time.Millisecond) // hold the row so the others queue on it
		return nil, nil
	})
	msg := newMsg("race")
	const n = 10
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := h(msg.Copy())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("delivery: %v", err)
		}
	}
	if got := e.effects(msg.UUID); got != 1 {
		t.Fatalf("effects = %d, want 1", got)
	}
	if p, d := e.metric("processed_total"), e.metric("duplicate_total"); p != 1 || d != n-1 {
		t.Fatalf("processed = %v, duplicate = %v; want 1, %d", p, d, n-1)
	}
	t.Logf("retried attempts (deadlocks, serialization): %v", e.metric("retried_total"))
	if poisoned := e.metric("poisoned_total"); poisoned != 0 {
		t.Fatalf("poisoned = %v, want 0", poisoned)
	}
}

func TestFailOnceThenSucceedAppliedOnce(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		var calls atomic.Int32
		h := e.inbox(e.config()).Middleware(func(msg *message.Message) ([]*message.Message, error) {
			if err := e.write(msg, "attempt"); err != nil {
				return nil, err
			}
			if calls.Add(1) == 1 {
				return nil, errors.New("transient failure after writing")
			}
			return nil, nil
		})
		msg := newMsg("flaky")
		if _, err := h(msg); err != nil {
			t.Fatalf("handle: %v", err)
		}
		if _, err := h(msg.Copy()); err != nil { // and a broker redelivery
			t.Fatalf("redelivery: %v", err)
		}
		if n := e.effects(msg.UUID); n != 1 {
			t.Fatalf("effects = %d, want 1", n)
		}
		if calls.Load() != 2 || e.metric("retried_total") != 1 {
			t.Fatalf("calls = %d, retried = %v; want 2, 1", calls.Load(), e.metric("retried_total"))
		}
	})
}

func TestPanicRollsBackAndRetryAppliesOnce(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		var calls atomic.Int32
		h := e.inbox(e.config()).Middleware(func(msg *message.Message) ([]*message.Message, error) {
			if err := e.write(msg, "before panic"); err != nil {
				return nil, err
			}
			if calls.Add(1) == 1 {
				panic("boom")
			}
			return nil, nil
		})
		msg := newMsg("panicky")
		if _, err := h(msg); err != nil {
			t.Fatalf("handle: %v", err)
		}
		if n := e.effects(msg.UUID); n != 1 {
			t.Fatalf("effects = %d, want 1 (panicked attempt rolled back, retry applied)", n)
		}
	})
}

func TestCancelledContextNacksWithoutPoison(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		h := e.inbox(e.config()).Middleware(func(msg *message.Message) ([]*message.Message, error) {
			if err := e.write(msg, "cancelled"); err != nil {
				return nil, err
			}
			return nil, errors.New("fails while shutting down")
		})
		ctx, cancel := context.WithCancel(context.Background())
		msg := newMsg("shutdown")
		msg.SetContext(ctx)
		cancel()
		_, err := h(msg)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if e.effects(msg.UUID) != 0 || e.metric("poisoned_total") != 0 {
			t.Fatal("a cancelled delivery left effects or was poisoned")
		}
		// Redelivered after the restart, it is applied.
		h2 := e.inbox(e.config()).Middleware(
			func(msg *message.Message) ([]*message.Message, error) {
				return nil, e.write(msg, "after restart")
			})
		if _, err := h2(msg.Copy()); err != nil || e.effects(msg.UUID) != 1 {
			t.Fatalf("redelivery: err %v, effects %d; want nil, 1", err, e.effects(msg.UUID))
		}
	})
}

func TestTxTimeoutBoundsTheHandler(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		c := e.config()
		c.TxTimeout = 100 * time.Millisecond
		c.MaxAttempts = 1
		h := e.inbox(c).Middleware(func(msg *message.Message) ([]*message.Message, error) {
			if err := e.write(msg, "slow"); err != nil {
				return nil, err
			}
			<-msg.Context().Done()
			return nil, msg.Context().Err()
		})
		msg := newMsg("slow")
		if _, err := h(msg); err != nil {
			t.Fatalf("handle: %v", err)
		}
		got := e.poisoned(c.PoisonTopic, 1, 5*time.Second)
		if len(got) != 1 || !strings.Contains(got[0].Metadata.Get(inbox.MetadataPoisonError),
			"deadline") {
			t.Fatalf("want the message poisoned with a deadline error, got %d", len(got))
		}
		if e.effects(msg.UUID) != 0 {
			t.Fatal("timed-out attempt left effects")
		}
	})
}

func TestPermanentHelpers(t *testing.T) {
	base := errors.New("bad input")
	p := inbox.Permanent(base)
	if !inbox.IsPermanent(p) || !errors.Is(p, base) || inbox.IsPermanent(base) {
		t.Fatal("Permanent does not mark or does not wrap")
	}
	if inbox.Permanent(nil) != nil {
		t.Fatal("Permanent(nil) != nil")
	}
	if !inbox.IsPermanent(errors.Join(errors.New("x"), p)) {
		t.Fatal("IsPermanent misses a wrapped permanent error")
	}
}

package inbox_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/watermill-outbox/watermill-outbox/inbox"
)

// TestPoisonedMessageDoesNotBlockTheOnesBehind runs a real router. The
// first message always fails: after MaxAttempts it must reach the poison
// topic with its metadata, and the two messages published after it on the
// same topic must be applied.
func TestPoisonedMessageDoesNotBlockTheOnesBehind(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		c := e.config()
		c.MaxAttempts = 3
		var badCalls atomic.Int32
		handle := func(msg *message.Message) error {
			if string(msg.Payload) == "bad" {
				badCalls.Add(1)
				if err := e.write(msg, "bad"); err != nil {
					return err
				}
				return errors.New("always fails")
			}
			return e.write(msg, "good")
		}
		in := gochannel.NewGoChannel(gochannel.Config{}, watermill.NopLogger{})
		defer in.Close()
		r := runRouter(t, in, "orders", e.inbox(c).Middleware, handle)
		defer r.Close()

		bad, good1, good2 := newMsg("bad"), newMsg("good"), newMsg("good")
		if err := in.Publish("orders", bad, good1, good2); err != nil {
			t.Fatalf("publish: %v", err)
		}
		waitFor(t, 10*time.Second, func() bool {
			return e.effects(good1.UUID) == 1 && e.effects(good2.UUID) == 1
		})
		got := e.poisoned(c.PoisonTopic, 1, 10*time.Second)
		if len(got) != 1 || got[0].UUID != bad.UUID || string(got[0].Payload) != "bad" {
			t.Fatalf("poison topic holds %d messages, want the bad one", len(got))
		}
		checkPoisonMetadata(t, got[0].Metadata)
		if badCalls.Load() != 3 || e.effects(bad.UUID) != 0 {
			t.Fatalf("bad message: %d calls, %d effects; want 3, 0",
				badCalls.Load(), e.effects(bad.UUID))
		}
	})
}

func checkPoisonMetadata(t *testing.T, md message.Metadata) {
	t.Helper()
	want := map[string]string{
		inbox.MetadataPoisonTopic:    "orders",
		inbox.MetadataPoisonHandler:  "orders-handler",
		inbox.MetadataPoisonAttempts: "3",
		inbox.MetadataPoisonGroup:    "test-group",
	}
	for k, v := range want {
		if md.Get(k) != v {
			t.Errorf("metadata %s = %q, want %q", k, md.Get(k), v)
		}
	}
	if !strings.Contains(md.Get(inbox.MetadataPoisonError), "always fails") {
		t.Errorf("metadata error = %q", md.Get(inbox.MetadataPoisonError))
	}
	at, err := time.Parse(time.RFC3339Nano, md.Get(inbox.MetadataPoisonedAt))
	if err != nil || time.Since(at) > time.Minute || time.Since(at) < 0 {
		t.Errorf("metadata poisoned_at = %q (%v)", md.Get(inbox.MetadataPoisonedAt), err)
	}
}

// runRouter starts a router with one consumer handler wrapped in mw.
func runRouter(t *testing.T, sub message.Subscriber, topic string,
	mw message.HandlerMiddleware, handle message.NoPublishHandlerFunc) *message.Router {
	t.Helper()
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 5 * time.Second},
		watermill.NopLogger{})
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	r.AddConsumerHandler(topic+"-handler", topic, sub, handle).AddMiddleware(mw)
	go func() {
		if err := r.Run(context.Background()); err != nil {
			t.Errorf("router run: %v", err)
		}
	}()
	select {
	case <-r.Running():
	case <-time.After(10 * time.Second):
		t.Fatal("router did not start")
	}
	return r
}

// waitFor polls cond every 20ms until it holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

package inbox_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/inbox"
)

// eventLog collects the events of an OnEvent hook.
type eventLog struct {
	mu     sync.Mutex
	events []inbox.Event
}

func (l *eventLog) add(ev inbox.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

// of returns "kind@attempt" for every event about msg, in order, and checks
// the fields every event carries.
func (l *eventLog) of(t *testing.T, msg *message.Message) []string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ev := range l.events {
		if ev.Message == nil || ev.Message.UUID != msg.UUID {
			continue
		}
		if ev.ConsumerGroup != "test-group" || ev.Duration <= 0 {
			t.Errorf("event %+v: consumer group or duration wrong", ev)
		}
		wantErr := ev.Kind == inbox.EventRetried || ev.Kind == inbox.EventPoisoned ||
			ev.Kind == inbox.EventFailed
		if (ev.Err != nil) != wantErr {
			t.Errorf("event %s: err = %v, want an error: %v", ev.Kind, ev.Err, wantErr)
		}
		out = append(out, fmt.Sprintf("%s@%d", ev.Kind, ev.Attempt))
	}
	return out
}

func checkKinds(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: events %v, want %v", what, got, want)
	}
}

// eventHandler fails "flaky" once, "bad" permanently and "stuck" always.
func eventHandler() message.HandlerFunc {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(msg *message.Message) ([]*message.Message, error) {
		mu.Lock()
		defer mu.Unlock()
		switch string(msg.Payload) {
		case "flaky":
			if !seen[msg.UUID] {
				seen[msg.UUID] = true
				return nil, errors.New("first attempt fails")
			}
		case "bad":
			return nil, inbox.Permanent(errors.New("cannot apply"))
		case "stuck":
			return nil, errors.New("always fails")
		}
		return nil, nil
	}
}

// TestOnEventReplacesPerMessageLogs: with a hook, every outcome reaches it
// once, with its attempt and error, and the inbox logs none of them.
func TestOnEventReplacesPerMessageLogs(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		events := &eventLog{}
		logger := watermill.NewCaptureLogger()
		c := e.config()
		c.Logger, c.OnEvent = logger, events.add
		h := e.inbox(c).Middleware(eventHandler())
		ok, flaky, bad := newMsg("ok"), newMsg("flaky"), newMsg("bad")
		for _, m := range []*message.Message{ok, ok.Copy(), flaky, bad} {
			if _, err := h(m); err != nil {
				t.Fatalf("message %s: %v", m.Payload, err)
			}
		}
		c.Publisher = failingPublisher{}
		stuck := newMsg("stuck")
		if _, err := e.inbox(c).Middleware(eventHandler())(stuck); err == nil {
			t.Fatal("stuck message acked although the poison topic failed")
		}
		checkKinds(t, "ok", events.of(t, ok), "processed@1", "duplicate@1")
		checkKinds(t, "flaky", events.of(t, flaky), "retried@1", "processed@2")
		checkKinds(t, "bad", events.of(t, bad), "poisoned@1")
		checkKinds(t, "stuck", events.of(t, stuck), "retried@1", "retried@2", "failed@3")
		if got := logger.Captured(); len(got) != 0 {
			t.Errorf("inbox logged %v although a hook is set", got)
		}
	})
}

// TestEventsLoggedWithoutHook: without a hook each event is one log line
// at its level, carrying the message UUID and attempt.
func TestEventsLoggedWithoutHook(t *testing.T) {
	forDialects(t, func(t *testing.T, e *env) {
		logger := watermill.NewCaptureLogger()
		c := e.config()
		c.Logger = logger
		h := e.inbox(c).Middleware(eventHandler())
		ok, flaky, bad := newMsg("ok"), newMsg("flaky"), newMsg("bad")
		for _, m := range []*message.Message{ok, ok.Copy(), flaky, bad} {
			if _, err := h(m); err != nil {
				t.Fatalf("message %s: %v", m.Payload, err)
			}
		}
		want := map[watermill.LogLevel][]string{
			watermill.TraceLogLevel: {ok.UUID, flaky.UUID},
			watermill.DebugLogLevel: {ok.UUID, flaky.UUID},
			watermill.ErrorLogLevel: {bad.UUID},
		}
		got := logger.Captured()
		for level, uuids := range want {
			var seen []string
			for _, l := range got[level] {
				if _, ok := l.Fields["attempt"]; !ok {
					t.Errorf("line %+v: no attempt", l)
				}
				seen = append(seen, fmt.Sprint(l.Fields["message_uuid"]))
			}
			if fmt.Sprint(seen) != fmt.Sprint(uuids) {
				t.Errorf("level %d: lines about %v, want %v", level, seen, uuids)
			}
		}
	})
}

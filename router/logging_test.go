package router_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/logging"
	"github.com/watermill-outbox/watermill-outbox/router"
)

// logBuffer is a bytes.Buffer safe to read while the logger writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines parses every JSON line written so far.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	text := b.buf.String()
	b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// of returns the lines about one message, in order.
func (b *logBuffer) of(t *testing.T, uuid string) []map[string]any {
	var out []map[string]any
	for _, l := range b.lines(t) {
		if l["message_uuid"] == uuid {
			out = append(out, l)
		}
	}
	return out
}

func jsonLogger(t *testing.T) (*logging.Logger, *logBuffer) {
	t.Helper()
	buf := &logBuffer{}
	l, err := logging.New(config.Log{Level: "trace", Format: "json"}, buf)
	if err != nil {
		t.Fatal(err)
	}
	return l, buf
}

// want is one expected log event: its message, its level, and whether it
// carries an error and a duration.
type want struct {
	msg, level string
	err, dur   bool
}

var (
	received  = want{router.MsgReceived, "debug", false, false}
	handled   = want{router.MsgHandled, "debug", false, true}
	retried   = want{router.MsgRetried, "warning", true, false}
	failed    = want{router.MsgFailed, "warning", true, true}
	duplicate = want{router.MsgDuplicate, "debug", false, true}
	poisoned  = want{router.MsgPoisoned, "error", true, true}
)

// checkEvents asserts that the router-level lines about uuid are exactly
// wants, each with the common fields, and that no inbox or Watermill line
// repeats one of them.
func checkEvents(t *testing.T, buf *logBuffer, uuid, topic string, wants ...want) {
	t.Helper()
	var got []map[string]any
	for _, l := range buf.of(t, uuid) {
		msg, _ := l["msg"].(string)
		switch {
		case strings.HasPrefix(msg, "router: "):
			got = append(got, l)
		case strings.HasPrefix(msg, "inbox: ") || l["level"] != "trace":
			t.Errorf("message %s: extra line %v", uuid, l)
		}
	}
	if len(got) != len(wants) {
		t.Fatalf("message %s: %d router lines, want %d: %v", uuid, len(got), len(wants), got)
	}
	for i, w := range wants {
		checkLine(t, got[i], w, uuid, topic)
	}
}

func checkLine(t *testing.T, l map[string]any, w want, uuid, topic string) {
	t.Helper()
	if l["msg"] != w.msg || l["level"] != w.level {
		t.Errorf("line %v: want %q at %s", l, w.msg, w.level)
	}
	if l["topic"] != topic || l["handler"] != "logged" || l["message_uuid"] != uuid {
		t.Errorf("line %v: topic, handler or message_uuid wrong", l)
	}
	if id, _ := l["correlation_id"].(string); id == "" {
		t.Errorf("line %v: no correlation_id", l)
	}
	if _, ok := l["attempt"]; !ok {
		t.Errorf("line %v: no attempt", l)
	}
	if _, ok := l["duration"]; ok != w.dur {
		t.Errorf("line %v: duration present = %v, want %v", l, ok, w.dur)
	}
	if e, _ := l["error"].(string); (e != "") != w.err {
		t.Errorf("line %v: error present = %v, want %v", l, e != "", w.err)
	}
}

// TestAutomaticLogging sends messages that are handled, retried, poisoned
// and duplicated through a router with the inbox, and checks the one line
// per event with its fields, the inbox's own lines swallowed.
func TestAutomaticLogging(t *testing.T) {
	forDialects(t, func(t *testing.T, db *testenv.DB) {
		logger, buf := jsonLogger(t)
		b := gochannel(t)
		c := baseConfig(b, db)
		c.Logger = logger
		r := newRouter(t, c)
		var flakyCalls atomic.Int32
		topic := testenv.Unique("logged_")
		err := r.AddHandler("logged", topic, func(msg *message.Message) error {
			switch string(msg.Payload) {
			case "flaky":
				if flakyCalls.Add(1) == 1 {
					return errors.New("first attempt fails")
				}
			case "bad":
				return inbox.Permanent(errors.New("cannot apply"))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		run(t, r)
		ok, flaky, bad := newMsg("ok"), newMsg("flaky"), newMsg("bad")
		publish(t, b.Publisher, topic, ok, flaky, bad)
		waitLines(t, buf, ok.UUID, 2)
		publish(t, b.Publisher, topic, ok.Copy())
		for uuid, n := range map[string]int{ok.UUID: 4, flaky.UUID: 3, bad.UUID: 2} {
			waitLines(t, buf, uuid, n)
		}
		checkEvents(t, buf, ok.UUID, topic, received, handled, received, duplicate)
		checkEvents(t, buf, flaky.UUID, topic, received, retried, handled)
		checkEvents(t, buf, bad.UUID, topic, received, poisoned)
		checkOrderLine(t, buf, r)
	})
}

// TestAutomaticLoggingFailed covers the failed event: without the inbox and
// without poisoning, a failing delivery is nacked and comes back.
func TestAutomaticLoggingFailed(t *testing.T) {
	logger, buf := jsonLogger(t)
	b := gochannel(t)
	c := baseConfig(b, nil)
	c.Logger = logger.With(watermill.LogFields{"service": "orders"})
	c.Inbox.MaxAttempts = 1
	c.Middleware.DisablePoison = true
	r := newRouter(t, c)
	var calls atomic.Int32
	topic := testenv.Unique("logged_")
	err := r.AddHandler("logged", topic, func(msg *message.Message) error {
		if calls.Add(1) == 1 {
			return errors.New("first delivery fails")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, r)
	m := newMsg("x")
	publish(t, b.Publisher, topic, m)
	waitLines(t, buf, m.UUID, 4)
	checkEvents(t, buf, m.UUID, topic, received, failed, received, handled)
	for _, l := range buf.of(t, m.UUID) {
		if l["msg"] == router.MsgFailed && l["service"] != "orders" {
			t.Errorf("warn line %v lost the logger's With fields", l)
		}
	}
}

// waitLines waits until n router-level lines about uuid were written.
func waitLines(t *testing.T, buf *logBuffer, uuid string, n int) {
	t.Helper()
	waitFor(t, 20*time.Second, "log lines", func() bool {
		c := 0
		for _, l := range buf.of(t, uuid) {
			if s, _ := l["msg"].(string); strings.HasPrefix(s, "router: ") {
				c++
			}
		}
		return c >= n
	})
}

func checkOrderLine(t *testing.T, buf *logBuffer, r *router.Router) {
	t.Helper()
	var found []map[string]any
	for _, l := range buf.lines(t) {
		if l["msg"] == "router: middleware order" {
			found = append(found, l)
		}
	}
	want := strings.Join(r.MiddlewareOrder(), " > ")
	if len(found) != 1 || found[0]["order"] != want || found[0]["level"] != "info" {
		t.Fatalf("order lines %v, want one info line with %q", found, want)
	}
}

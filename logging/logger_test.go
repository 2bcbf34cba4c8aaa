package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/watermill-outbox/watermill-outbox/config"
)

func newBuf(t *testing.T, level, format string) (*Logger, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	l, err := New(config.Log{Level: level, Format: format}, &buf)
	if err != nil {
		t.Fatalf("New(%q, %q): %v", level, format, err)
	}
	return l, &buf
}

// jsonLines decodes every line of buf as one JSON object.
func jsonLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestJSONFieldsAndError(t *testing.T) {
	l, buf := newBuf(t, "info", "json")
	l.Error("send failed", errors.New("broker down"),
		watermill.LogFields{"topic": "orders", "attempt": 3})
	lines := jsonLines(t, buf)
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want 1: %s", len(lines), buf)
	}
	got := lines[0]
	want := map[string]any{
		"msg": "send failed", "level": "error", "topic": "orders",
		"attempt": float64(3), "error": "broker down",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %q = %#v, want %#v", k, got[k], v)
		}
	}
}

func TestErrorWithoutErrKeepsNoErrorField(t *testing.T) {
	l, buf := newBuf(t, "info", "json")
	l.Error("odd state", nil, nil)
	got := jsonLines(t, buf)[0]
	if _, ok := got["error"]; ok {
		t.Errorf("error field present for a nil error: %v", got)
	}
}

func TestTextKeyValue(t *testing.T) {
	l, buf := newBuf(t, "debug", "text")
	l.Debug("forwarded", watermill.LogFields{"topic": "orders", "message_uuid": "m-1"})
	out := buf.String()
	for _, want := range []string{"level=debug", "msg=forwarded", "topic=orders",
		"message_uuid=m-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q: %s", want, out)
		}
	}
}

// emit logs one line at each of the adapter's four levels.
func emit(l watermill.LoggerAdapter) {
	l.Trace("t-line", nil)
	l.Debug("d-line", nil)
	l.Info("i-line", nil)
	l.Error("e-line", errors.New("x"), nil)
}

func TestLevelFiltering(t *testing.T) {
	cases := []struct {
		level string
		shown []string
		gone  []string
	}{
		{"trace", []string{"t-line", "d-line", "i-line", "e-line"}, nil},
		{"debug", []string{"d-line", "i-line", "e-line"}, []string{"t-line"}},
		{"info", []string{"i-line", "e-line"}, []string{"t-line", "d-line"}},
		{"warn", []string{"e-line"}, []string{"t-line", "d-line", "i-line"}},
		{"error", []string{"e-line"}, []string{"t-line", "d-line", "i-line"}},
		{"", []string{"i-line", "e-line"}, []string{"d-line"}},
	}
	for _, c := range cases {
		t.Run("level="+c.level, func(t *testing.T) {
			l, buf := newBuf(t, c.level, "text")
			emit(l)
			out := buf.String()
			for _, s := range c.shown {
				if !strings.Contains(out, s) {
					t.Errorf("%q missing at level %q: %s", s, c.level, out)
				}
			}
			for _, s := range c.gone {
				if strings.Contains(out, s) {
					t.Errorf("%q shown at level %q: %s", s, c.level, out)
				}
			}
		})
	}
}

func TestTraceIsLogrusTrace(t *testing.T) {
	l, buf := newBuf(t, "trace", "json")
	l.Trace("deep", nil)
	if got := jsonLines(t, buf)[0]["level"]; got != "trace" {
		t.Errorf("level = %v, want trace", got)
	}
}

func TestWithAccumulatesWithoutMutatingParent(t *testing.T) {
	parent, buf := newBuf(t, "info", "json")
	child := parent.With(watermill.LogFields{"handler": "h1"})
	grandchild := child.With(watermill.LogFields{"topic": "orders"})
	grandchild.Info("g", watermill.LogFields{"attempt": 1})
	child.Info("c", nil)
	parent.Info("p", nil)

	lines := jsonLines(t, buf)
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3", len(lines))
	}
	g, c, p := lines[0], lines[1], lines[2]
	if g["handler"] != "h1" || g["topic"] != "orders" || g["attempt"] != float64(1) {
		t.Errorf("grandchild fields = %v", g)
	}
	if c["handler"] != "h1" || c["topic"] != nil {
		t.Errorf("child fields = %v (topic must not leak up)", c)
	}
	if p["handler"] != nil || p["topic"] != nil {
		t.Errorf("parent fields = %v (With must not mutate it)", p)
	}
}

func TestCallFieldsOverrideWithFields(t *testing.T) {
	l, buf := newBuf(t, "info", "json")
	l.With(watermill.LogFields{"topic": "a"}).Info("x", watermill.LogFields{"topic": "b"})
	if got := jsonLines(t, buf)[0]["topic"]; got != "b" {
		t.Errorf("topic = %v, want b", got)
	}
}

func TestSecretsMasked(t *testing.T) {
	const clear = "hunter2-clear"
	s := config.Secret(clear)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			l, buf := newBuf(t, "info", format)
			l.With(watermill.LogFields{"dsn": s}).Info("connect",
				watermill.LogFields{"password": &s})
			out := buf.String()
			if strings.Contains(out, clear) {
				t.Fatalf("secret in clear in %s output: %s", format, out)
			}
			if !strings.Contains(out, "password") || !strings.Contains(out, "dsn") {
				t.Errorf("secret fields missing: %s", out)
			}
			if !strings.Contains(out, config.Mask) {
				t.Errorf("mask %q missing: %s", config.Mask, out)
			}
		})
	}
}

func TestUnknownLevelAndFormat(t *testing.T) {
	_, err := New(config.Log{Level: "verbose", Format: "text"}, nil)
	if !errors.Is(err, ErrUnknownLevel) || !strings.Contains(err.Error(), `"verbose"`) {
		t.Errorf("unknown level: err = %v", err)
	}
	_, err = New(config.Log{Level: "info", Format: "xml"}, nil)
	if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("unknown format: err = %v", err)
	}
	_, err = New(config.Log{Level: "loud", Format: "yaml"}, nil)
	if !errors.Is(err, ErrUnknownLevel) || !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("both wrong: err = %v, want both reported", err)
	}
}

func TestLevelNamesCaseInsensitive(t *testing.T) {
	l, buf := newBuf(t, "DEBUG", "JSON")
	l.Debug("d", nil)
	if len(jsonLines(t, buf)) != 1 {
		t.Errorf("debug line missing at level DEBUG: %s", buf)
	}
}

func TestConcurrentUse(t *testing.T) {
	l, buf := newBuf(t, "info", "json")
	const workers, per = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wl := l.With(watermill.LogFields{"worker": w})
			for i := range per {
				wl.Info("tick", watermill.LogFields{"i": i})
			}
		}()
	}
	wg.Wait()
	if got := len(jsonLines(t, buf)); got != workers*per {
		t.Errorf("got %d lines, want %d", got, workers*per)
	}
}

func TestOrNop(t *testing.T) {
	if _, ok := OrNop(nil).(watermill.NopLogger); !ok {
		t.Errorf("OrNop(nil) is not a NopLogger")
	}
	var typedNil *Logger
	if _, ok := OrNop(typedNil).(watermill.NopLogger); !ok {
		t.Errorf("OrNop(typed nil) is not a NopLogger")
	}
	l, _ := newBuf(t, "info", "text")
	if OrNop(l) != watermill.LoggerAdapter(l) {
		t.Errorf("OrNop changed a real logger")
	}
	emit(Nop()) // must not panic
}

package logging

import (
	"testing"

	"github.com/ThreeDotsLabs/watermill"
)

// TestWarnAtEachLevel: a Warn line shows at trace, debug, info and warn,
// at logrus's "warning" level, and is hidden at error.
func TestWarnAtEachLevel(t *testing.T) {
	for level, shown := range map[string]bool{
		"trace": true, "debug": true, "info": true, "warn": true, "error": false,
	} {
		t.Run(level, func(t *testing.T) {
			l, buf := newBuf(t, level, "json")
			l.Warn("disk almost full", watermill.LogFields{"topic": "orders"})
			lines := jsonLines(t, buf)
			if !shown {
				if len(lines) != 0 {
					t.Fatalf("at %s: got %v, want nothing", level, lines)
				}
				return
			}
			if len(lines) != 1 {
				t.Fatalf("at %s: got %d lines, want 1: %s", level, len(lines), buf)
			}
			got := lines[0]
			if got["msg"] != "disk almost full" || got["level"] != "warning" ||
				got["topic"] != "orders" {
				t.Errorf("at %s: line %v", level, got)
			}
		})
	}
}

// TestWarnKeepsWithFields: the package Warn on a Logger returned by With
// (held as a watermill.LoggerAdapter) writes a warn line carrying the With
// fields, the call's fields winning on a clash.
func TestWarnKeepsWithFields(t *testing.T) {
	l, buf := newBuf(t, "warn", "json")
	var a watermill.LoggerAdapter = l.With(watermill.LogFields{"handler": "h", "topic": "old"})
	Warn(a, "slow handler", watermill.LogFields{"topic": "orders"})
	lines := jsonLines(t, buf)
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want 1: %s", len(lines), buf)
	}
	got := lines[0]
	want := map[string]any{"msg": "slow handler", "level": "warning", "handler": "h",
		"topic": "orders"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %q = %#v, want %#v", k, got[k], v)
		}
	}
	if _, ok := got[SeverityField]; ok {
		t.Errorf("line %v: fallback field on a Logger that has Warn", got)
	}
}

// TestWarnFallsBackToInfo: an adapter without Warn gets the line at info
// with severity=warn; a nil adapter is ignored.
func TestWarnFallsBackToInfo(t *testing.T) {
	c := watermill.NewCaptureLogger()
	Warn(c, "slow handler", watermill.LogFields{"topic": "orders"})
	Warn(nil, "dropped", nil)
	got := c.Captured()
	info := got[watermill.InfoLogLevel]
	if len(got) != 1 || len(info) != 1 {
		t.Fatalf("captured %v, want one info line", got)
	}
	if info[0].Msg != "slow handler" || info[0].Fields[SeverityField] != "warn" ||
		info[0].Fields["topic"] != "orders" {
		t.Errorf("line %+v", info[0])
	}
}

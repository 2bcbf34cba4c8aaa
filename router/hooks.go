package router

import (
	"github.com/ThreeDotsLabs/watermill"
)

// The inbox logs its own per-message events. With the automatic log on,
// the router gives the inbox an inboxLogger instead of its own logger: the
// lines the router writes itself are turned into tracker updates and
// dropped, so each event is logged once. The inbox's other lines (a poison
// topic that cannot be written, retention) pass through unchanged.
const (
	inboxDuplicate = "inbox: duplicate message skipped"
	inboxRetrying  = "inbox: attempt failed, retrying"
	inboxPoisoned  = "inbox: message poisoned"
	inboxProcessed = "inbox: message processed"
)

type inboxLogger struct {
	watermill.LoggerAdapter
	reg *registry
}

// Debug swallows the duplicate and retrying lines of tracked deliveries.
func (l inboxLogger) Debug(msg string, fields watermill.LogFields) {
	if t := l.reg.get(fields); t != nil {
		switch msg {
		case inboxDuplicate:
			t.markDuplicate()
			return
		case inboxRetrying:
			return
		}
	}
	l.LoggerAdapter.Debug(msg, fields)
}

// Trace swallows the processed line of tracked deliveries.
func (l inboxLogger) Trace(msg string, fields watermill.LogFields) {
	if msg == inboxProcessed && l.reg.get(fields) != nil {
		return
	}
	l.LoggerAdapter.Trace(msg, fields)
}

// Error swallows the poisoned line of tracked deliveries.
func (l inboxLogger) Error(msg string, err error, fields watermill.LogFields) {
	if t := l.reg.get(fields); t != nil && msg == inboxPoisoned {
		t.markPoisoned(err)
		return
	}
	l.LoggerAdapter.Error(msg, err, fields)
}

// With keeps the hook on the derived logger.
func (l inboxLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return inboxLogger{LoggerAdapter: l.LoggerAdapter.With(fields), reg: l.reg}
}

// routerLogger is given to Watermill's router when the automatic log is on:
// the router's own "Handler returned error" line repeats the failed line,
// so it goes to trace level.
type routerLogger struct {
	watermill.LoggerAdapter
}

// Error moves the router's per-message error line to trace level.
func (l routerLogger) Error(msg string, err error, fields watermill.LogFields) {
	if msg == "Handler returned error" {
		l.LoggerAdapter.Trace(msg, fields.Add(watermill.LogFields{"error": err}))
		return
	}
	l.LoggerAdapter.Error(msg, err, fields)
}

// With keeps the demotion on the derived logger.
func (l routerLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return routerLogger{LoggerAdapter: l.LoggerAdapter.With(fields)}
}

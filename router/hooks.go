package router

import (
	"github.com/ThreeDotsLabs/watermill"

	"github.com/watermill-outbox/watermill-outbox/inbox"
)

// inboxEvent is the inbox's OnEvent hook when the automatic log is on. The
// inbox then writes no per-message lines; the events that end a delivery
// without an error (duplicate, poisoned) are recorded in the delivery's
// tracker, found in the message context, and logged once by the outer
// logging middleware. Processed, retried and failed need nothing here: the
// logging middlewares see them from the handler's results.
func inboxEvent(ev inbox.Event) {
	t, ok := ev.Message.Context().Value(trackerKey{}).(*tracker)
	if !ok {
		return
	}
	switch ev.Kind {
	case inbox.EventDuplicate:
		t.markDuplicate()
	case inbox.EventPoisoned:
		t.markPoisoned(ev.Err)
	}
}

// handlerErrorMsg is the line Watermill's router (message/router.go,
// v1.5.1) writes for every handler error. Watermill has no setting to
// silence it, so it is matched by text; TestAutomaticLoggingFailed fails if
// an upgrade changes the text.
const handlerErrorMsg = "Handler returned error"

// routerLogger is given to Watermill's router when the automatic log is on:
// the router's own handlerErrorMsg line repeats the failed line, so it goes
// to trace level.
type routerLogger struct {
	watermill.LoggerAdapter
}

// Error moves the router's per-message error line to trace level.
func (l routerLogger) Error(msg string, err error, fields watermill.LogFields) {
	if msg == handlerErrorMsg {
		l.LoggerAdapter.Trace(msg, fields.Add(watermill.LogFields{"error": err}))
		return
	}
	l.LoggerAdapter.Error(msg, err, fields)
}

// With keeps the demotion on the derived logger.
func (l routerLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return routerLogger{LoggerAdapter: l.LoggerAdapter.With(fields)}
}

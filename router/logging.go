package router

import (
	"context"
	"errors"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/watermill-outbox/watermill-outbox/logging"
)

// ErrUnknownLevel is wrapped by Validate for a LogLevels entry that names no
// level.
var ErrUnknownLevel = errors.New("unknown log level")

// levels maps the LogLevels names to a rank; "off" logs nothing.
var levels = map[string]int{"off": 0, "trace": 1, "debug": 2, "info": 3, "warn": 4, "error": 5}

// Log lines of the automatic message log, one per event.
const (
	MsgReceived  = "router: message received"
	MsgHandled   = "router: message handled"
	MsgFailed    = "router: message failed, nacked for redelivery"
	MsgRetried   = "router: attempt failed, retrying"
	MsgDuplicate = "router: duplicate message skipped"
	MsgPoisoned  = "router: message poisoned"
)

// eventLog writes the automatic message log.
type eventLog struct {
	logger watermill.LoggerAdapter
	levels LogLevels
}

func newEventLog(logger watermill.LoggerAdapter, lv LogLevels) *eventLog {
	return &eventLog{logger: logger, levels: lv}
}

// emit writes one line at level; err, when set, goes into the error field.
func (l *eventLog) emit(level, msg string, err error, fields watermill.LogFields) {
	if err != nil {
		fields = fields.Add(watermill.LogFields{"error": err.Error()})
	}
	switch level {
	case "trace":
		l.logger.Trace(msg, fields)
	case "debug":
		l.logger.Debug(msg, fields)
	case "info":
		l.logger.Info(msg, fields)
	case "warn":
		logging.Warn(l.logger, msg, fields)
	case "error":
		l.logger.Error(msg, err, fields)
	}
}

// messageFields are the fields every line about msg carries.
func messageFields(msg *message.Message) watermill.LogFields {
	ctx := msg.Context()
	return watermill.LogFields{
		"topic":          message.SubscribeTopicFromCtx(ctx),
		"handler":        message.HandlerNameFromCtx(ctx),
		"message_uuid":   msg.UUID,
		"correlation_id": middleware.MessageCorrelationID(msg),
	}
}

// Middleware is the outer part of the automatic log: it logs the received
// line and, when the delivery is over, exactly one of handled, failed,
// duplicate or poisoned. It leaves a tracker in the message context that
// the attempt middleware and the inbox's OnEvent hook (inboxEvent) fill in.
func (l *eventLog) Middleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		fields := messageFields(msg)
		l.emit(l.levels.Received, MsgReceived, nil, fields.Add(watermill.LogFields{"attempt": 0}))
		t := &tracker{}
		orig := msg.Context()
		msg.SetContext(context.WithValue(orig, trackerKey{}, t))
		start := time.Now()
		out, err := h(msg)
		msg.SetContext(orig)
		l.outcome(t, err, fields.Add(watermill.LogFields{"duration": time.Since(start)}))
		return out, err
	}
}

func (l *eventLog) outcome(t *tracker, err error, fields watermill.LogFields) {
	s := t.snapshot()
	fields = fields.Add(watermill.LogFields{"attempt": s.attempts})
	switch {
	case err != nil:
		l.emit(l.levels.Failed, MsgFailed, err, fields)
	case s.duplicate:
		l.emit(l.levels.Duplicate, MsgDuplicate, nil, fields)
	case s.poisoned || s.lastErr != nil:
		cause := s.poisonErr
		if cause == nil {
			cause = s.lastErr
		}
		l.emit(l.levels.Poisoned, MsgPoisoned, cause, fields)
	default:
		l.emit(l.levels.Handled, MsgHandled, nil, fields)
	}
}

// attempts is the inner part of the automatic log, run once per attempt
// inside the retry (or the inbox): it counts attempts, records each one's
// error and logs the retried line when an attempt follows a failed one.
func (l *eventLog) attempts(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		t, ok := msg.Context().Value(trackerKey{}).(*tracker)
		if !ok {
			return h(msg)
		}
		n, prev := t.begin()
		if n > 1 && prev != nil {
			l.emit(l.levels.Retried, MsgRetried, prev,
				messageFields(msg).Add(watermill.LogFields{"attempt": n - 1}))
		}
		out, err := h(msg)
		t.end(err)
		return out, err
	}
}

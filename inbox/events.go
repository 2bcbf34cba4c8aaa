package inbox

import (
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// EventKind names what happened to a delivery in the inbox.
type EventKind int

// The per-message events of the inbox. Every delivery that reaches the
// handler path ends in exactly one of Processed, Duplicate, Poisoned or
// Failed, possibly after some Retried events; a delivery cut short by a
// cancelled message context ends in none (the middleware returns the
// context error).
const (
	// EventProcessed: the handler succeeded and its transaction committed.
	EventProcessed EventKind = iota + 1
	// EventDuplicate: the key was recorded before; the handler did not run.
	EventDuplicate
	// EventRetried: an attempt failed (Err) and another one follows.
	EventRetried
	// EventPoisoned: the message was published to the poison topic because
	// of Err and will be acknowledged. Attempt is 0 when it had no valid key.
	EventPoisoned
	// EventFailed: the message was out of attempts but the poison topic
	// could not take it; Err is returned, so the message is nacked.
	EventFailed
)

// String returns the lower-case name of the kind, e.g. "duplicate".
func (k EventKind) String() string {
	switch k {
	case EventProcessed:
		return "processed"
	case EventDuplicate:
		return "duplicate"
	case EventRetried:
		return "retried"
	case EventPoisoned:
		return "poisoned"
	case EventFailed:
		return "failed"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event describes one per-message event, passed to Config.OnEvent.
type Event struct {
	Kind EventKind
	// Message is the delivered message, with the context the middleware
	// was called with (not the transaction's). Read it; do not keep it.
	Message *message.Message
	// Topic and Handler are the router's subscribe topic and handler name
	// taken from the message context (empty outside a Watermill router).
	Topic, Handler string
	// ConsumerGroup is the inbox group the key is recorded under.
	ConsumerGroup string
	// Attempt is the attempt the event is about, counting from 1.
	Attempt int
	// Duration is the time from the delivery reaching the inbox to the event,
	// retries and backoff included.
	Duration time.Duration
	// Err is the error of a Retried, Poisoned or Failed event, else nil.
	Err error
}

// emit hands one event to Config.OnEvent, or logs it when no hook is set.
func (i *Inbox) emit(d *delivery, kind EventKind, attempt int, err error) {
	ev := Event{
		Kind: kind, Message: d.msg, Topic: d.topic, Handler: d.handler,
		ConsumerGroup: d.group, Attempt: attempt, Duration: time.Since(d.receivedAt), Err: err,
	}
	if i.cfg.OnEvent != nil {
		i.cfg.OnEvent(ev)
		return
	}
	i.logEvent(d, ev)
}

// logEvent is the inbox's own log of an event: one line each, at trace for
// processed, debug for duplicate and retried, error for poisoned and failed.
func (i *Inbox) logEvent(d *delivery, ev Event) {
	fields := d.withAttempt(ev.Attempt)
	log := i.cfg.Logger
	switch ev.Kind {
	case EventProcessed:
		log.Trace("inbox: message processed", fields)
	case EventDuplicate:
		log.Debug("inbox: duplicate message skipped", fields)
	case EventRetried:
		log.Debug("inbox: attempt failed, retrying",
			fields.Add(watermill.LogFields{"err": ev.Err.Error()}))
	case EventPoisoned:
		log.Error("inbox: message poisoned", ev.Err,
			fields.Add(watermill.LogFields{"poison_topic": i.cfg.PoisonTopic}))
	case EventFailed:
		log.Error("inbox: cannot publish to poison topic, message nacked", ev.Err,
			fields.Add(watermill.LogFields{"poison_topic": i.cfg.PoisonTopic}))
	}
}

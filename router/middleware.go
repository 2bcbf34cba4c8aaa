package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// ErrHandlerTimeout is wrapped by the error of an attempt that ran past
// config.Router.HandlerTimeout. It also wraps context.DeadlineExceeded.
var ErrHandlerTimeout = errors.New("router: handler timeout")

// Names of the standard middleware in the logged order.
const (
	NameCorrelation = "correlation_id"
	NameLogging     = "logging"
	NameMetrics     = "metrics"
	NamePoison      = "poison_queue"
	NameRetry       = "retry"
	NameInbox       = "inbox(retry+poison+tx)"
	NameAttemptLog  = "logging.attempt"
	NameTimeout     = "timeout"
	NameRecovery    = "panic_recovery"
)

// correlation gives every delivery a correlation id (its own UUID when it
// came without one), puts it into the message context, where the typed
// handlers' ctx and publisher.EventPublisher find it, so every message
// published from inside the handler carries it, outbox included, and sets
// it on the messages the handler returns.
func correlation(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		id := middleware.MessageCorrelationID(msg)
		if id == "" {
			id = msg.UUID
			middleware.SetCorrelationID(id, msg)
		}
		orig := msg.Context()
		msg.SetContext(publisher.WithCorrelationID(orig, id))
		out, err := h(msg)
		msg.SetContext(orig)
		for _, m := range out {
			middleware.SetCorrelationID(id, m)
		}
		return out, err
	}
}

// timeout bounds one attempt. Unlike Watermill's Timeout middleware it puts
// the original context back when the attempt ends, so the next attempt of a
// retry starts with a fresh deadline instead of an expired one. An attempt
// that returns after its deadline fails with ErrHandlerTimeout even if the
// handler ignored the context and returned nil, so its transaction is
// rolled back.
func timeout(d time.Duration) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			orig := msg.Context()
			ctx, cancel := context.WithTimeout(orig, d)
			defer cancel()
			msg.SetContext(ctx)
			out, err := h(msg)
			msg.SetContext(orig)
			if ctx.Err() == context.DeadlineExceeded {
				return nil, fmt.Errorf("%w after %s: %w (handler returned: %w)",
					ErrHandlerTimeout, d, context.DeadlineExceeded, err)
			}
			return out, err
		}
	}
}

// retry is Watermill's Retry middleware driven by the inbox settings, used
// when the inbox is off: MaxAttempts attempts in all, exponential backoff
// from RetryInitial capped at RetryMax, nothing retried that was marked
// inbox.Permanent.
func (c Config) retry() message.HandlerMiddleware {
	return middleware.Retry{
		MaxRetries:          c.Inbox.MaxAttempts - 1,
		InitialInterval:     c.Inbox.RetryInitial,
		MaxInterval:         c.Inbox.RetryMax,
		Multiplier:          2,
		RandomizationFactor: 0.5,
		ResetContextOnRetry: true,
		ShouldRetry: func(p middleware.RetryParams) bool {
			return !inbox.IsPermanent(p.Err)
		},
	}.Middleware
}

// step is one middleware of the chain with its name.
type step struct {
	name string
	m    message.HandlerMiddleware
}

// chain returns the standard middleware, outermost first, for a router
// with the given inbox (nil when off), metrics middleware (nil when off)
// and automatic log (nil when off).
func (c Config) chain(ib *inbox.Inbox, metrics message.HandlerMiddleware,
	ev *eventLog) ([]step, error) {
	var s []step
	add := func(on bool, name string, m message.HandlerMiddleware) {
		if on {
			s = append(s, step{name, m})
		}
	}
	mw := c.Middleware
	add(!mw.DisableCorrelation, NameCorrelation, correlation)
	add(ev != nil, NameLogging, ev.Middleware)
	add(metrics != nil, NameMetrics, metrics)
	if ib != nil {
		add(true, NameInbox, ib.Middleware)
	} else {
		if !mw.DisablePoison {
			pq, err := middleware.PoisonQueueWithFilter(c.Backend.Publisher,
				c.Inbox.PoisonTopic, notCancelled)
			if err != nil {
				return nil, fmt.Errorf("router: poison queue %q: %w", c.Inbox.PoisonTopic, err)
			}
			add(true, NamePoison, pq)
		}
		add(c.Inbox.MaxAttempts > 1, NameRetry, c.retry())
	}
	add(ev != nil, NameAttemptLog, ev.attempts)
	add(!mw.DisableTimeout && c.Router.HandlerTimeout > 0, NameTimeout,
		timeout(c.Router.HandlerTimeout))
	add(!mw.DisableRecovery, NameRecovery, middleware.Recoverer)
	return s, nil
}

// notCancelled keeps a delivery cut short by shutdown out of the poison
// queue: it is nacked and redelivered instead.
func notCancelled(err error) bool { return !errors.Is(err, context.Canceled) }

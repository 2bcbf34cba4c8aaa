package router

import (
	"context"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// NameGrace is the name of the shutdown-grace middleware in the logged order.
const NameGrace = "shutdown_grace"

// grace is the outermost middleware. Most subscribers cancel the context of
// the messages in flight as soon as the router closes them, which would cut
// every running handler short at once. grace hands the handler a context
// that survives that cancellation for config.Router.CloseTimeout when the
// router is shutting down, so a handler that finishes in time commits; one
// that does not is cancelled then, rolled back and left for redelivery.
// Outside a shutdown a cancelled message context is passed on at once. A
// message that was committed but whose ack the closed subscriber dropped is
// delivered again and skipped by the inbox as a duplicate.
func (r *Router) grace(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		orig := msg.Context()
		ctx, cancel := context.WithCancel(context.WithoutCancel(orig))
		defer cancel()
		var timer *time.Timer
		stop := context.AfterFunc(orig, func() {
			if !r.closing.Load() {
				cancel()
				return
			}
			r.mu.Lock()
			timer = time.AfterFunc(r.cfg.Router.CloseTimeout, cancel)
			r.mu.Unlock()
		})
		defer func() {
			stop()
			r.mu.Lock()
			if timer != nil {
				timer.Stop()
			}
			r.mu.Unlock()
		}()
		msg.SetContext(ctx)
		out, err := h(msg)
		msg.SetContext(orig)
		return out, err
	}
}

// runUntil runs the Watermill router until ctx ends, marking the shutdown
// before the router starts closing its subscribers.
func (r *Router) runUntil(ctx context.Context) error {
	inner, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
			r.closing.Store(true)
			cancel()
		case <-inner.Done():
		}
	}()
	return r.wr.Run(inner)
}

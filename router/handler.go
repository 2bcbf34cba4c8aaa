package router

import (
	"context"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

var (
	// ErrDecode is wrapped by the error of a payload that the handler's
	// marshaler cannot decode. That error is also marked inbox.Permanent,
	// so the message goes to the poison topic at once.
	ErrDecode = errors.New("router: cannot decode payload")
	// ErrTopicTaken means a second handler was added for a topic. All
	// handlers of a router share one consumer group (and one inbox group),
	// so two handlers of one topic would split its messages between them.
	ErrTopicTaken = errors.New("router: topic already has a handler")
)

// HandlerOption adjusts one typed handler.
type HandlerOption func(*handlerOptions)

type handlerOptions struct {
	marshaler cqrs.CommandEventMarshaler
}

// WithMarshaler decodes payloads (and, for HandleAndPublish, encodes the
// events returned) with m instead of JSON: cqrs.ProtobufMarshaler or any
// other Watermill CQRS marshaler.
func WithMarshaler(m cqrs.CommandEventMarshaler) HandlerOption {
	return func(o *handlerOptions) { o.marshaler = m }
}

func buildOptions(opts []HandlerOption) handlerOptions {
	o := handlerOptions{}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// decoder adapts a CQRS marshaler to one topic, one type: every message of
// the topic is decoded into the handler's type whatever event name its
// metadata holds, and a decode failure is permanent.
type decoder struct {
	cqrs.CommandEventMarshaler
	name string
}

func newDecoder[T any](m cqrs.CommandEventMarshaler) decoder {
	if m == nil {
		m = cqrs.JSONMarshaler{GenerateName: cqrs.StructName}
	}
	return decoder{CommandEventMarshaler: m, name: m.Name(new(T))}
}

// NameFromMessage reports the handler's own event name, so Watermill's
// event processor hands every message of the topic to the handler.
func (d decoder) NameFromMessage(*message.Message) string { return d.name }

// Unmarshal decodes the payload; an error wraps ErrDecode and is permanent.
func (d decoder) Unmarshal(msg *message.Message, v any) error {
	if err := d.CommandEventMarshaler.Unmarshal(msg, v); err != nil {
		return inbox.Permanent(fmt.Errorf("%w: message %q as %s: %w", ErrDecode, msg.UUID, d.name, err))
	}
	return nil
}

// Handle registers fn for every message of topic, decoded into a T (JSON by
// default, see WithMarshaler), under the handler name name. It builds on
// Watermill's CQRS event processor (cqrs.NewEventHandler), so ctx carries
// the original message (cqrs.OriginalMessageFromCtx), the inbox transaction
// (inbox.TxFromContext) and the correlation id (publisher.CorrelationID):
// publishing with publisher.EventPublisher and ctx stamps it on every
// message, outbox messages included. A payload that does not decode goes
// to the poison topic with the decode error.
func Handle[T any](r *Router, name, topic string, fn func(ctx context.Context, event T) error,
	opts ...HandlerOption) error {
	if err := r.claim(topic, name); err != nil {
		return err
	}
	o := buildOptions(opts)
	h := cqrs.NewEventHandler(name, func(ctx context.Context, e *T) error { return fn(ctx, *e) })
	ep, err := cqrs.NewEventProcessorWithConfig(r.wr, cqrs.EventProcessorConfig{
		GenerateSubscribeTopic: func(cqrs.EventProcessorGenerateSubscribeTopicParams) (string, error) {
			return topic, nil
		},
		SubscriberConstructor: func(cqrs.EventProcessorSubscriberConstructorParams) (
			message.Subscriber, error) {
			return r.cfg.Backend.Subscriber, nil
		},
		Marshaler: newDecoder[T](o.marshaler),
		Logger:    r.cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("router: handler %q: %w", name, err)
	}
	if err := ep.AddHandlers(h); err != nil {
		return fmt.Errorf("router: handler %q: %w", name, err)
	}
	return nil
}

// HandleAndPublish registers fn like Handle and publishes what it returns to
// publishTopic through the backend, after the handler (and its inbox
// transaction) succeeded, or, with Config.Outbox and the inbox on, writes it
// into the outbox inside the inbox transaction. Each returned value is a
// *message.Message, sent as it is, or an event, encoded like
// publisher.EventPublisher does. Every one carries the incoming correlation
// id; AddPublishingHandler detaches its context from cancellation. Watermill's event handlers return
// only an error, so this variant is a plain router handler that decodes
// with the same marshalers.
func HandleAndPublish[T any](r *Router, name, topic, publishTopic string,
	fn func(ctx context.Context, event T) ([]any, error), opts ...HandlerOption) error {
	o := buildOptions(opts)
	dec := newDecoder[T](o.marshaler)
	enc, err := publisher.NewEventPublisher(r.cfg.Backend.Publisher,
		publisher.EventPublisherConfig{Marshaler: o.marshaler}, r.cfg.Logger)
	if err != nil {
		return fmt.Errorf("router: handler %q: %w", name, err)
	}
	return r.AddPublishingHandler(name, topic, publishTopic,
		func(msg *message.Message) ([]*message.Message, error) {
			var ev T
			if err := dec.Unmarshal(msg, &ev); err != nil {
				return nil, err
			}
			ctx := cqrs.CtxWithOriginalMessage(msg.Context(), msg)
			out, err := fn(ctx, ev)
			if err != nil {
				return nil, err
			}
			msgs, err := toMessages(ctx, enc, out)
			if err != nil {
				return nil, err
			}
			return r.viaOutbox(ctx, publishTopic, msgs)
		})
}

// viaOutbox writes msgs into Config.Outbox in the inbox transaction of ctx
// and returns none for the router to publish; without an outbox or a
// transaction it returns msgs unchanged.
func (r *Router) viaOutbox(ctx context.Context, topic string, msgs []*message.Message) (
	[]*message.Message, error) {
	tx, ok := inbox.TxFromContext(ctx)
	if r.cfg.Outbox == nil || !ok || len(msgs) == 0 {
		return msgs, nil
	}
	if err := r.cfg.Outbox.Publish(ctx, tx, topic, msgs...); err != nil {
		return nil, fmt.Errorf("router: write returned messages to the outbox: %w", err)
	}
	return nil, nil
}

func toMessages(ctx context.Context, enc *publisher.EventPublisher, out []any) (
	[]*message.Message, error) {
	msgs := make([]*message.Message, 0, len(out))
	for _, v := range out {
		if m, ok := v.(*message.Message); ok {
			msgs = append(msgs, m)
			continue
		}
		m, err := enc.NewMessage(ctx, v)
		if err != nil {
			return nil, fmt.Errorf("router: encode returned %T: %w", v, err)
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// detach gives returned messages a context that keeps its values but is
// never cancelled: the router publishes them after the handler's attempt
// (and its transaction context) ended, and publishers such as Redis's send
// with the message context.
func detach(msgs []*message.Message) []*message.Message {
	for _, m := range msgs {
		m.SetContext(context.WithoutCancel(m.Context()))
	}
	return msgs
}

// AddHandler registers a plain Watermill handler for topic, run inside the
// standard middleware and reading from the backend.
func (r *Router) AddHandler(name, topic string, h message.NoPublishHandlerFunc) error {
	if err := r.claim(topic, name); err != nil {
		return err
	}
	r.wr.AddConsumerHandler(name, topic, r.cfg.Backend.Subscriber, h)
	return nil
}

// AddPublishingHandler registers a plain Watermill handler whose returned
// messages are published to publishTopic through the backend, after the
// handler succeeded, each with its context detached from cancellation.
func (r *Router) AddPublishingHandler(name, topic, publishTopic string,
	h message.HandlerFunc) error {
	if err := r.claim(topic, name); err != nil {
		return err
	}
	b := r.cfg.Backend
	r.wr.AddHandler(name, topic, b.Subscriber, publishTopic, b.Publisher,
		func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			return detach(out), err
		})
	return nil
}

// claim records that topic is handled by name.
func (r *Router) claim(topic, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.topics == nil {
		r.topics = map[string]string{}
	}
	if other, ok := r.topics[topic]; ok {
		return fmt.Errorf("%w: topic %q by %q, not %q", ErrTopicTaken, topic, other, name)
	}
	r.topics[topic] = name
	return nil
}

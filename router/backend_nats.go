package router

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	wnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
)

// newNATSBackend builds the nats backend on NATS JetStream: one stream per
// topic, created on first use, and one durable queue consumer per consumer
// group and topic, which starts at the stream's first message and needs an
// explicit ack. A message is acked when the router acks it and nak'ed (sent
// again) on a nack.
//
// JetStream stream and consumer names allow fewer characters than topics
// do, so every character other than letters, digits, '-' and '_' becomes
// '_' in the stream and subject name: "inbox.poison" is the stream
// "inbox_poison". Two topics that differ only there share a stream.
func newNATSBackend(ctx context.Context, cfg BackendConfig, b *Backend) error {
	raw := cfg.Config.Router.NATSURL
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		b.Addr = raw
		return fmt.Errorf("nats_url: not a URL with a host: %v", err)
	}
	b.Addr = u.Host
	if err := dialCheck(ctx, u.Host); err != nil {
		return err
	}
	opts := []nats.Option{nats.Timeout(cfg.ConnectTimeout), nats.Name("watermill-outbox")}
	group := cfg.Config.Router.ConsumerGroup
	subject := func(_, topic string) *wnats.SubjectDetail {
		return &wnats.SubjectDetail{Primary: topic, QueueGroup: natsName(group + "_" + topic)}
	}
	js := wnats.JetStreamConfig{AutoProvision: true, TrackMsgId: false}
	pub, err := wnats.NewPublisher(wnats.PublisherConfig{
		URL: raw, NatsOptions: opts, Marshaler: &wnats.NATSMarshaler{},
		SubjectCalculator: subject, JetStream: js,
	}, cfg.Logger)
	if err != nil {
		return fmt.Errorf("%w: publisher: %w", ErrBackendUnreachable, err)
	}
	b.ownPublisher(natsPublisher{pub})
	js.SubscribeOptions = []nats.SubOpt{nats.DeliverAll(), nats.AckExplicit()}
	js.DurableCalculator = func(_, topic string) string { return natsName(group + "_" + topic) }
	sub, err := wnats.NewSubscriber(wnats.SubscriberConfig{
		URL: raw, NatsOptions: opts, Unmarshaler: &wnats.NATSMarshaler{},
		QueueGroupPrefix: group, SubjectCalculator: subject, JetStream: js,
		CloseTimeout: cfg.ConnectTimeout,
	}, cfg.Logger)
	if err != nil {
		return fmt.Errorf("%w: subscriber: %w", ErrBackendUnreachable, err)
	}
	b.ownSubscriber(natsSubscriber{sub})
	b.ping = func(ctx context.Context) error { return dialCheck(ctx, u.Host) }
	return nil
}

// natsName maps a topic to a name JetStream accepts for streams, subjects
// and durable consumers.
func natsName(topic string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, topic)
}

// natsPublisher publishes to the stream named by natsName(topic).
type natsPublisher struct{ *wnats.Publisher }

// Publish sends msgs to topic's stream.
func (p natsPublisher) Publish(topic string, msgs ...*message.Message) error {
	return p.Publisher.Publish(natsName(topic), msgs...)
}

// natsSubscriber reads the stream named by natsName(topic).
type natsSubscriber struct{ *wnats.Subscriber }

// Subscribe reads topic's stream.
func (s natsSubscriber) Subscribe(ctx context.Context, topic string) (
	<-chan *message.Message, error) {
	return s.Subscriber.Subscribe(ctx, natsName(topic))
}

// SubscribeInitialize creates topic's stream.
func (s natsSubscriber) SubscribeInitialize(topic string) error {
	return s.Subscriber.SubscribeInitialize(natsName(topic))
}

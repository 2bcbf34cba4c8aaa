package router

import (
	"context"
	"fmt"
	"net/url"

	"github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
)

// newAMQPBackend builds the amqp (RabbitMQ) backend with watermill-amqp's
// durable pub/sub topology: one fanout exchange per topic and, per consumer
// group, one durable queue named "<topic>_<group>". A message is
// acknowledged to RabbitMQ when the router acks it and requeued on a nack.
// A topic keeps messages only for queues that exist: a group's queue is
// created when it first subscribes (or by SubscribeInitialize), and what was
// published before that is not delivered to it.
func newAMQPBackend(ctx context.Context, cfg BackendConfig, b *Backend) error {
	raw := cfg.Config.Router.AMQPURL.Reveal()
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		b.Addr = "(unparsable amqp_url)"
		return fmt.Errorf("amqp_url: not a URL with a host: %v", err)
	}
	b.Addr = u.Host
	if err := dialCheck(ctx, u.Host); err != nil {
		return err
	}
	c := amqp.NewDurablePubSubConfig(raw,
		amqp.GenerateQueueNameTopicNameWithSuffix(cfg.Config.Router.ConsumerGroup))
	pub, err := bounded(ctx, func() (*amqp.Publisher, error) {
		return amqp.NewPublisher(c, cfg.Logger)
	}, func(p *amqp.Publisher) { _ = p.Close() })
	if err != nil {
		return fmt.Errorf("publisher: %w", err)
	}
	b.ownPublisher(pub)
	sub, err := bounded(ctx, func() (*amqp.Subscriber, error) {
		return amqp.NewSubscriber(c, cfg.Logger)
	}, func(s *amqp.Subscriber) { _ = s.Close() })
	if err != nil {
		return fmt.Errorf("subscriber: %w", err)
	}
	b.ownSubscriber(sub)
	b.ping = func(ctx context.Context) error { return dialCheck(ctx, u.Host) }
	return nil
}

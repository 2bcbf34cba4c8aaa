package router

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/redis/go-redis/v9"
)

// newRedisBackend builds the redis backend on Redis streams: one stream per
// topic and a Redis consumer group per configured consumer group, which
// starts at the stream's first entry. A message is XACKed when the router
// acks it; a nacked one is delivered again, and one left pending by a
// consumer that died is claimed by another after watermill-redisstream's
// MaxIdleTime.
func newRedisBackend(ctx context.Context, cfg BackendConfig, b *Backend) error {
	addr := cfg.Config.Router.RedisAddr
	b.Addr = addr
	if err := dialCheck(ctx, addr); err != nil {
		return err
	}
	opts := &redis.Options{Addr: addr, DialTimeout: cfg.ConnectTimeout, ContextTimeoutEnabled: true}
	// The publisher and the subscriber each close their client.
	pc, sc := redis.NewClient(opts), redis.NewClient(opts)
	if err := pc.Ping(ctx).Err(); err != nil {
		_, _ = pc.Close(), sc.Close()
		return fmt.Errorf("%w: %w", ErrBackendUnreachable, err)
	}
	pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: pc}, cfg.Logger)
	if err != nil {
		_, _ = pc.Close(), sc.Close()
		return fmt.Errorf("publisher: %w", err)
	}
	b.ownPublisher(pub)
	sub, err := redisstream.NewSubscriber(redisstream.SubscriberConfig{
		Client:        sc,
		ConsumerGroup: cfg.Config.Router.ConsumerGroup,
		OldestId:      "0",
	}, cfg.Logger)
	if err != nil {
		_ = sc.Close()
		return fmt.Errorf("subscriber: %w", err)
	}
	b.ownSubscriber(sub)
	b.ping = func(ctx context.Context) error { return pc.Ping(ctx).Err() }
	return nil
}

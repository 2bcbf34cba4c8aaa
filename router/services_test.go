package router_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/router"
)

// The setups below point a backend at the local server and remove what
// the test created there (queues, exchanges, streams) when it ends, so
// repeated runs leave nothing behind.

func setupAMQP(t *testing.T, c *router.BackendConfig, _ *testenv.DB, topics []string) {
	url := testenv.AMQP(t)
	c.Config.Router.Backend = "amqp"
	c.Config.Router.AMQPURL = configSecret(url)
	group := c.Config.Router.ConsumerGroup
	t.Cleanup(func() {
		conn, err := amqp091.Dial(url)
		if err != nil {
			t.Logf("amqp cleanup: %v", err)
			return
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			return
		}
		defer ch.Close()
		for _, tp := range topics {
			_, _ = ch.QueueDelete(tp+"_"+group, false, false, false)
			_ = ch.ExchangeDelete(tp, false, false)
		}
	})
}

func setupNATS(t *testing.T, c *router.BackendConfig, _ *testenv.DB, topics []string) {
	url := testenv.NATS(t)
	c.Config.Router.Backend = "nats"
	c.Config.Router.NATSURL = url
	t.Cleanup(func() {
		nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
		if err != nil {
			t.Logf("nats cleanup: %v", err)
			return
		}
		defer nc.Close()
		js, err := nc.JetStream()
		if err != nil {
			return
		}
		for _, tp := range topics {
			_ = js.DeleteStream(tp)
		}
	})
}

func setupRedis(t *testing.T, c *router.BackendConfig, _ *testenv.DB, topics []string) {
	addr := testenv.Redis(t)
	c.Config.Router.Backend = "redis"
	c.Config.Router.RedisAddr = addr
	t.Cleanup(func() {
		rc := redis.NewClient(&redis.Options{Addr: addr})
		defer rc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rc.Del(ctx, topics...)
	})
}

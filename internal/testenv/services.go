package testenv

import (
	"net"
	"net/url"
	"testing"
	"time"
)

// Default addresses of the other brokers the router's backends talk to.
// Each can be overridden by the environment variable named beside it.
const (
	// DefaultAMQPURL is RabbitMQ; TEST_AMQP_URL overrides it.
	DefaultAMQPURL = "amqp://guest:guest@127.0.0.1:5672/"
	// DefaultNATSURL is NATS with JetStream; TEST_NATS_URL overrides it.
	DefaultNATSURL = "nats://127.0.0.1:4222"
	// DefaultRedisAddr is Redis; TEST_REDIS_ADDR overrides it.
	DefaultRedisAddr = "127.0.0.1:6379"
)

// AMQP returns the RabbitMQ URL after checking that it accepts connections.
func AMQP(t testing.TB) string {
	t.Helper()
	u := envOr("TEST_AMQP_URL", DefaultAMQPURL)
	reachable(t, "rabbitmq", hostOf(t, u))
	return u
}

// NATS returns the NATS URL after checking that it accepts connections.
func NATS(t testing.TB) string {
	t.Helper()
	u := envOr("TEST_NATS_URL", DefaultNATSURL)
	reachable(t, "nats", hostOf(t, u))
	return u
}

// Redis returns the Redis address after checking that it accepts
// connections.
func Redis(t testing.TB) string {
	t.Helper()
	a := envOr("TEST_REDIS_ADDR", DefaultRedisAddr)
	reachable(t, "redis", a)
	return a
}

func hostOf(t testing.TB, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		t.Fatalf("testenv: %q is not a URL with a host: %v", raw, err)
	}
	return u.Host
}

// reachable fails the test (or skips it, see Missing) when addr does not
// accept a TCP connection within five seconds.
func reachable(t testing.TB, service, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		Missing(t, service+" "+addr, err)
		return
	}
	_ = conn.Close()
}

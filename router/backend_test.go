package router_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/router"
)

func TestUnknownBackendIsNamed(t *testing.T) {
	c := config.Default()
	c.Router.Backend = "carrier-pigeon"
	_, err := router.NewBackend(context.Background(), router.BackendConfig{Config: c})
	if !errors.Is(err, router.ErrUnknownBackend) {
		t.Fatalf("err = %v, want ErrUnknownBackend", err)
	}
	mustContain(t, "error", err.Error(), `"carrier-pigeon"`)
	mustContain(t, "error", err.Error(), "kafka")
}

// refusedAddr returns a loopback address where nothing listens.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// silentAddr returns a loopback address that accepts connections and never
// answers, like a server that hangs; it stops when the test ends.
func silentAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// pointAt sets the address of the named backend.
func pointAt(c *config.Config, backend, addr string) {
	c.Router.Backend = backend
	switch backend {
	case "kafka":
		c.Kafka.Brokers = []string{addr}
		c.Kafka.DialTimeout = 2 * time.Second
	case "amqp":
		c.Router.AMQPURL = config.Secret("amqp://guest:secretpw@" + addr + "/")
	case "nats":
		c.Router.NATSURL = "nats://" + addr
	case "redis":
		c.Router.RedisAddr = addr
	case "sql":
		c.SQL.Dialect = "postgres"
		c.SQL.DSN = config.Secret("postgres://postgres:secretpw@" + addr + "/test?sslmode=disable")
	}
}

// TestUnreachableBackendIsNamed starts every networked backend against a
// port where nothing listens and one where a server accepts but never
// answers: each must fail within a bounded time with ErrBackendUnreachable,
// naming the backend and the address, and never showing a password.
func TestUnreachableBackendIsNamed(t *testing.T) {
	kinds := map[string]func(*testing.T) string{"refused": refusedAddr, "silent": silentAddr}
	for _, backend := range []string{"kafka", "amqp", "nats", "redis", "sql"} {
		for kind, addrOf := range kinds {
			t.Run(backend+"/"+kind, func(t *testing.T) {
				t.Parallel()
				addr := addrOf(t)
				c := config.Default()
				pointAt(&c, backend, addr)
				start := time.Now()
				_, err := router.NewBackend(context.Background(),
					router.BackendConfig{Config: c, ConnectTimeout: 2 * time.Second})
				checkUnreachable(t, err, backend, addr, time.Since(start))
			})
		}
	}
}

func checkUnreachable(t *testing.T, err error, backend, addr string, took time.Duration) {
	t.Helper()
	if !errors.Is(err, router.ErrBackendUnreachable) {
		t.Fatalf("err = %v, want ErrBackendUnreachable", err)
	}
	mustContain(t, "error", err.Error(), `backend "`+backend+`"`)
	mustContain(t, "error", err.Error(), addr)
	if strings.Contains(err.Error(), "secretpw") {
		t.Fatalf("error shows the password: %v", err)
	}
	// Bounded, not a speed assertion: the limit is far above the 2s
	// connect timeout and only catches a start-up that hangs.
	if took > 30*time.Second {
		t.Fatalf("NewBackend took %s with a 2s connect timeout", took)
	}
}

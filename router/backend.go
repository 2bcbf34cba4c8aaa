package router

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"sort"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/logging"
)

// Sentinel errors of NewBackend, for errors.Is. The errors wrapping them
// name the backend and its address.
var (
	// ErrUnknownBackend means config.Router.Backend names no backend.
	ErrUnknownBackend = errors.New("unknown backend")
	// ErrBackendUnreachable means the backend's server did not answer
	// within the connect timeout.
	ErrBackendUnreachable = errors.New("backend unreachable")
)

// DefaultConnectTimeout bounds the start-up check of a backend when
// BackendConfig.ConnectTimeout is zero.
const DefaultConnectTimeout = 10 * time.Second

// Backend is a Watermill pub/sub chosen by configuration: the subscriber
// handlers read from, the publisher for returned and poisoned messages, and
// a health check. NewBackend builds one; Close releases it.
type Backend struct {
	// Name is the backend's configured name ("kafka", "sql", ...).
	Name string
	// Addr is where the backend's server is, with any password masked.
	Addr string
	// Publisher publishes to the backend.
	Publisher message.Publisher
	// Subscriber reads from the backend in the configured consumer group.
	Subscriber message.Subscriber

	ping    func(ctx context.Context) error
	closers []func() error
}

// BackendConfig configures NewBackend.
type BackendConfig struct {
	// Config supplies Router (backend name, consumer group, addresses),
	// Kafka (brokers and client settings) and SQL (dialect and DSN).
	// Zero fields take the values of config.Default().
	Config config.Config
	// DB is used by the sql backend instead of opening Config.SQL.DSN.
	// The backend does not close it.
	DB *sql.DB
	// Logger receives the backends' own logs. Default: none.
	Logger watermill.LoggerAdapter
	// ConnectTimeout bounds the start-up check that the server answers.
	// Default: Config.Kafka.DialTimeout for kafka, else
	// DefaultConnectTimeout. Not in config.Router, hence here.
	ConnectTimeout time.Duration
	// SQLPollInterval is how often the sql subscriber polls an idle table.
	// Default: watermill-sql's (1s). Not in config.Router, hence here.
	SQLPollInterval time.Duration
	// GoChannelPersistent keeps every gochannel message in memory for
	// subscribers that come later. Default: false.
	GoChannelPersistent bool
}

// backendFactory builds one kind of backend.
type backendFactory func(ctx context.Context, cfg BackendConfig, b *Backend) error

// factories holds one entry per backend; each lives in its own file.
var factories = map[string]backendFactory{
	"kafka":     newKafkaBackend,
	"sql":       newSQLBackend,
	"gochannel": newGoChannelBackend,
	"amqp":      newAMQPBackend,
	"nats":      newNATSBackend,
	"redis":     newRedisBackend,
}

// Backends lists the names NewBackend accepts, sorted.
func Backends() []string {
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NewBackend builds the publisher and subscriber of the backend named by
// cfg.Config.Router.Backend and checks that its server answers, returning
// within ConnectTimeout (or when ctx ends). An unknown name wraps
// ErrUnknownBackend, a server that does not answer ErrBackendUnreachable;
// both errors name the backend and the address.
func NewBackend(ctx context.Context, cfg BackendConfig) (*Backend, error) {
	cfg.setDefaults()
	name := cfg.Config.Router.Backend
	f, ok := factories[name]
	if !ok {
		return nil, fmt.Errorf("router: backend %q: %w (known: %v)", name, ErrUnknownBackend, Backends())
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	b := &Backend{Name: name}
	if err := f(ctx, cfg, b); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("router: backend %q at %s: %w", name, b.Addr, err)
	}
	return b, nil
}

func (c *BackendConfig) setDefaults() {
	d := config.Default()
	r, k := &c.Config.Router, &c.Config.Kafka
	fill(&r.Backend, d.Router.Backend)
	fill(&r.ConsumerGroup, d.Router.ConsumerGroup)
	fill(&r.AMQPURL, d.Router.AMQPURL)
	fill(&r.NATSURL, d.Router.NATSURL)
	fill(&r.RedisAddr, d.Router.RedisAddr)
	if len(k.Brokers) == 0 {
		k.Brokers = d.Kafka.Brokers
	}
	fill(&k.DialTimeout, d.Kafka.DialTimeout)
	fill(&c.Config.SQL.Dialect, d.SQL.Dialect)
	if c.ConnectTimeout == 0 && r.Backend == "kafka" {
		c.ConnectTimeout = k.DialTimeout
	}
	fill(&c.ConnectTimeout, DefaultConnectTimeout)
	c.Logger = logging.OrNop(c.Logger)
}

// Ping checks that the backend's server answers, within ctx.
func (b *Backend) Ping(ctx context.Context) error {
	if b.ping == nil {
		return nil
	}
	if err := b.ping(ctx); err != nil {
		return fmt.Errorf("router: backend %q at %s: %w: %w", b.Name, b.Addr, ErrBackendUnreachable, err)
	}
	return nil
}

// Close closes the subscriber, the publisher and any connection the
// backend opened, in that order, and returns every error joined.
func (b *Backend) Close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i]())
	}
	b.closers = nil
	return errors.Join(errs...)
}

func (b *Backend) onClose(f func() error) { b.closers = append(b.closers, f) }

// dialCheck opens and closes a TCP connection to addr within ctx, so an
// unreachable server is reported before a client library starts its own,
// possibly unbounded, reconnect loop.
func dialCheck(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBackendUnreachable, err)
	}
	return conn.Close()
}

// bounded runs f and gives up when ctx ends first; f keeps running then and
// its result is released with release.
func bounded[T any](ctx context.Context, f func() (T, error), release func(T)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.err == nil && release != nil {
				release(r.v)
			}
		}()
		var zero T
		return zero, fmt.Errorf("%w: %w", ErrBackendUnreachable, ctx.Err())
	}
}

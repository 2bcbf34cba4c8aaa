package router

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/logging"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// DefaultCloseTimeout bounds Close when config.Router.CloseTimeout is zero.
const DefaultCloseTimeout = 30 * time.Second

// Config configures a Router. The sections read from configuration files
// (Router, Inbox, Metrics) are the project's config types; the other fields
// are dependencies only code supplies, or knobs the file format lacks.
type Config struct {
	// Router holds the backend name, consumer group, close timeout and
	// handler timeout. Zero fields take the values of config.Default().
	Router config.Router
	// Inbox holds the retry, poison and deduplication settings. They drive
	// the inbox when it is on and Watermill's Retry and PoisonQueue
	// middleware when it is off. Zero fields take config.Default() values.
	Inbox config.Inbox
	// Metrics.Address is where /metrics and /healthz are served by Run;
	// empty serves nothing (MetricsHandler and HealthHandler still work).
	Metrics config.Metrics

	// Backend supplies the subscriber handlers read from, the publisher
	// for returned and poisoned messages, and the health check. Required;
	// see NewBackend.
	Backend *Backend
	// DB holds the inbox table and the handlers' data. With DB set (and
	// Middleware.DisableInbox false) every handler runs inside the inbox.
	// Default: nil, no inbox.
	DB *sql.DB
	// Dialect of DB: "postgres" or "mysql". Required with DB.
	Dialect string
	// Outbox, with the inbox on, makes HandleAndPublish write the messages
	// its handler returns into this outbox inside the inbox transaction,
	// instead of leaving them to the router to publish after the commit.
	// They are then sent exactly when the handler's writes commit (by the
	// forwarder), where a publish after the commit that fails is lost: the
	// redelivered message is skipped as a duplicate. Default: nil.
	Outbox *publisher.Outbox
	// SkipInboxMigration stops New from creating the inbox table (for
	// deployments that run migrations separately). Default: false.
	SkipInboxMigration bool
	// Logger receives the router's logs and the automatic message log.
	// Default: none (watermill.NopLogger).
	Logger watermill.LoggerAdapter
	// Registry holds Watermill's router metrics and the inbox metrics and is
	// what /metrics serves. Default: a new registry.
	Registry *prometheus.Registry
	// Middleware switches and tunes the standard middleware.
	Middleware MiddlewareConfig
	// Extra middleware, run inside the standard chain (closest to the
	// handler) in the order given. Router.AddMiddleware adds more after
	// these; it does not change this field.
	Extra []NamedMiddleware
	// Plugins are Watermill router plugins, added in the order given.
	Plugins []message.RouterPlugin
}

// NamedMiddleware is a user middleware with the name shown in the logged
// middleware order.
type NamedMiddleware struct {
	// Name is shown in the logged order; empty becomes "user#<n>".
	Name string
	// Middleware is the Watermill handler middleware itself.
	Middleware message.HandlerMiddleware
}

// MiddlewareConfig switches the standard middleware off one by one (every
// one is on by default) and sets the levels of the automatic message log.
// None of these knobs exists in config.Router, so they live here.
type MiddlewareConfig struct {
	// DisableShutdownGrace cancels handlers in flight as soon as the router
	// closes, instead of giving them up to CloseTimeout to finish.
	DisableShutdownGrace bool
	// DisableRecovery lets a handler panic crash the process.
	DisableRecovery bool
	// DisableCorrelation stops giving messages a correlation id.
	DisableCorrelation bool
	// DisableLogging turns the automatic message log off.
	DisableLogging bool
	// DisableMetrics turns Watermill's router metrics off (the inbox
	// metrics stay).
	DisableMetrics bool
	// DisableTimeout ignores config.Router.HandlerTimeout.
	DisableTimeout bool
	// DisableRetry runs each delivery once: MaxAttempts is taken as 1.
	DisableRetry bool
	// DisablePoison nacks a message out of attempts instead of poisoning it,
	// so the subscriber redelivers it (it may then block its partition).
	// Only honoured with the inbox off: the inbox always poisons.
	DisablePoison bool
	// DisableInbox runs without the inbox even when DB is set.
	DisableInbox bool
	// Levels sets the level of each automatic log event.
	Levels LogLevels
}

// LogLevels is the level ("trace", "debug", "info", "warn", "error" or
// "off") of each automatic log event. Empty fields take the defaults named.
type LogLevels struct {
	// Received: a delivery reached the router. Default: debug.
	Received string
	// Handled: the handler succeeded and the message is acknowledged.
	// Default: debug.
	Handled string
	// Failed: the delivery ended in an error; it is nacked and redelivered.
	// Default: warn.
	Failed string
	// Retried: an attempt failed and another follows. Default: warn.
	Retried string
	// Duplicate: the inbox had applied the message before. Default: debug.
	Duplicate string
	// Poisoned: the message went to the poison topic. Default: error.
	Poisoned string
}

func (l *LogLevels) setDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&l.Received, "debug")
	def(&l.Handled, "debug")
	def(&l.Failed, "warn")
	def(&l.Retried, "warn")
	def(&l.Duplicate, "debug")
	def(&l.Poisoned, "error")
}

func (c *Config) setDefaults() {
	d := config.Default()
	r, i := &c.Router, &c.Inbox
	fill(&r.Backend, d.Router.Backend)
	fill(&r.ConsumerGroup, d.Router.ConsumerGroup)
	fill(&r.CloseTimeout, d.Router.CloseTimeout)
	fill(&i.Table, d.Inbox.Table)
	fill(&i.ConsumerGroup, r.ConsumerGroup)
	fill(&i.MaxAttempts, d.Inbox.MaxAttempts)
	fill(&i.RetryInitial, d.Inbox.RetryInitial)
	fill(&i.RetryMax, d.Inbox.RetryMax)
	fill(&i.PoisonTopic, d.Inbox.PoisonTopic)
	fill(&i.TxTimeout, d.Inbox.TxTimeout)
	fill(&i.DedupWindow, d.Inbox.DedupWindow)
	if c.Middleware.DisableRetry {
		i.MaxAttempts = 1
	}
	c.Logger = logging.OrNop(c.Logger)
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	c.Middleware.Levels.setDefaults()
}

func fill[T comparable](dst *T, def T) {
	var zero T
	if *dst == zero {
		*dst = def
	}
}

// inboxOn reports whether handlers run inside the inbox.
func (c Config) inboxOn() bool { return c.DB != nil && !c.Middleware.DisableInbox }

// Validate reports every problem of the configuration at once, joined with
// errors.Join, or nil. New calls it after filling in the defaults.
func (c Config) Validate() error {
	var errs []error
	if c.Backend == nil {
		errs = append(errs, errors.New("router: config: Backend is required (see NewBackend)"))
	}
	if c.inboxOn() && c.Dialect == "" {
		errs = append(errs, errors.New("router: config: Dialect is required with DB"))
	}
	if c.Router.HandlerTimeout < 0 {
		errs = append(errs, fmt.Errorf("router: config: handler_timeout %s is negative",
			c.Router.HandlerTimeout))
	}
	if c.Inbox.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("router: config: inbox max_attempts %d is below 1",
			c.Inbox.MaxAttempts))
	}
	for i, m := range c.Extra {
		if m.Middleware == nil {
			errs = append(errs, fmt.Errorf("router: config: Extra[%d] %q is nil", i, m.Name))
		}
	}
	errs = append(errs, c.Middleware.Levels.validate()...)
	return errors.Join(errs...)
}

func (l LogLevels) validate() []error {
	var errs []error
	for _, e := range []struct{ name, level string }{
		{"Received", l.Received}, {"Handled", l.Handled}, {"Failed", l.Failed},
		{"Retried", l.Retried}, {"Duplicate", l.Duplicate}, {"Poisoned", l.Poisoned},
	} {
		if _, ok := levels[e.level]; !ok {
			errs = append(errs, fmt.Errorf("router: config: log level %s %q: %w",
				e.name, e.level, ErrUnknownLevel))
		}
	}
	return errs
}

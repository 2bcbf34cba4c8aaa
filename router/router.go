package router

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/metrics"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/inbox"
)

// Router is a Watermill router built from configuration, with the standard
// middleware installed in the fixed order described in the package doc.
// Build it with New, add handlers (Handle, HandleAndPublish, AddHandler,
// AddPublishingHandler), then Run it. Handlers and middleware must be added
// before Run.
type Router struct {
	cfg     Config
	wr      *message.Router
	inbox   *inbox.Inbox
	events  *eventLog
	order   []string
	nUser   int
	mu      sync.Mutex
	server  *http.Server
	srvAddr string
	topics  map[string]string
	closing atomic.Bool
}

// New checks cfg, fills in its defaults and builds the router with the
// standard middleware. With the inbox on it also creates the inbox table
// unless Config.SkipInboxMigration is set.
func New(ctx context.Context, cfg Config) (*Router, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Router{cfg: cfg}
	if !cfg.Middleware.DisableLogging {
		r.events = newEventLog(cfg.Logger, cfg.Middleware.Levels)
	}
	wr, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.Router.CloseTimeout},
		r.watermillLogger())
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	r.wr = wr
	if err := r.install(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Router) watermillLogger() watermill.LoggerAdapter {
	if r.events == nil {
		return r.cfg.Logger
	}
	return routerLogger{r.cfg.Logger}
}

// install builds the inbox and the metrics and adds the standard chain,
// then the extra middleware and the plugins.
func (r *Router) install(ctx context.Context) error {
	if err := r.newInbox(ctx); err != nil {
		return err
	}
	var mm message.HandlerMiddleware
	if !r.cfg.Middleware.DisableMetrics {
		b := metrics.NewPrometheusMetricsBuilder(r.cfg.Registry, "watermill_outbox", "router")
		r.wr.AddPublisherDecorators(b.DecoratePublisher)
		r.wr.AddSubscriberDecorators(b.DecorateSubscriber)
		mm = b.NewRouterMiddleware().Middleware
	}
	steps, err := r.cfg.chain(r.inbox, mm, r.events)
	if err != nil {
		return err
	}
	if !r.cfg.Middleware.DisableShutdownGrace {
		steps = append([]step{{NameGrace, r.grace}}, steps...)
	}
	for _, s := range steps {
		r.wr.AddMiddleware(s.m)
		r.order = append(r.order, s.name)
	}
	for _, m := range r.cfg.Extra {
		r.AddMiddleware(m.Name, m.Middleware)
	}
	r.wr.AddPlugin(r.cfg.Plugins...)
	return nil
}

func (r *Router) newInbox(ctx context.Context) error {
	if !r.cfg.inboxOn() {
		return nil
	}
	c := r.cfg
	if !c.SkipInboxMigration {
		if err := inbox.Migrate(ctx, c.DB, c.Dialect, c.Inbox.Table); err != nil {
			return fmt.Errorf("router: migrate inbox: %w", err)
		}
	}
	ic := inbox.Config{
		Inbox: c.Inbox, DB: c.DB, Dialect: c.Dialect, Publisher: c.Backend.Publisher,
		Logger: c.Logger, Registerer: c.Registry,
	}
	if r.events != nil {
		ic.OnEvent = inboxEvent
	}
	ib, err := inbox.New(ic)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	r.inbox = ib
	return nil
}

// AddMiddleware adds a middleware of the user's, run inside the standard
// chain (after every earlier one, closest to the handler), under name in
// the logged order. It must be called before Run.
func (r *Router) AddMiddleware(name string, m message.HandlerMiddleware) {
	r.nUser++
	if name == "" {
		name = fmt.Sprintf("user#%d", r.nUser)
	}
	r.order = append(r.order, name)
	r.wr.AddMiddleware(m)
}

// AddPlugin adds Watermill router plugins, run when the router starts.
func (r *Router) AddPlugin(p ...message.RouterPlugin) { r.wr.AddPlugin(p...) }

// MiddlewareOrder lists the middleware names, outermost first, ending with
// "handler". Run logs it once at info level.
func (r *Router) MiddlewareOrder() []string {
	return append(append([]string{}, r.order...), "handler")
}

// Watermill returns the underlying Watermill router. Middleware added to it
// directly also runs inside the standard chain but is not named in
// MiddlewareOrder.
func (r *Router) Watermill() *message.Router { return r.wr }

// Inbox returns the inbox, or nil when it is off.
func (r *Router) Inbox() *inbox.Inbox { return r.inbox }

// Backend returns the backend given in the Config.
func (r *Router) Backend() *Backend { return r.cfg.Backend }

// Config returns the configuration in use, defaults filled in.
func (r *Router) Config() Config { return r.cfg }

// Run logs the middleware order, starts the metrics endpoint when
// Metrics.Address is set, and runs the handlers until ctx ends or Close is
// called; it then shuts down gracefully (see Close).
func (r *Router) Run(ctx context.Context) error {
	r.cfg.Logger.Info("router: middleware order", watermill.LogFields{
		"order":   strings.Join(r.MiddlewareOrder(), " > "),
		"backend": r.cfg.Backend.Name,
		"inbox":   r.inbox != nil,
	})
	if err := r.serveMetrics(); err != nil {
		return err
	}
	err := r.runUntil(ctx)
	return errors.Join(err, r.stopMetrics())
}

// Running is closed when the router has started every handler.
func (r *Router) Running() chan struct{} { return r.wr.Running() }

// Close stops the router gracefully: no new message is taken, handlers in
// flight get up to config.Router.CloseTimeout to finish, and a message whose
// handler did not finish is not acknowledged, so the backend delivers it
// again (an inbox transaction cut short is rolled back, never half
// applied). It closes the subscribers and publishers the handlers use and
// releases the inbox's prepared statement, but not the Backend's
// connections or the database: close those after the router.
func (r *Router) Close() error {
	r.closing.Store(true)
	err := r.wr.Close()
	if r.inbox != nil {
		err = errors.Join(err, r.inbox.Close())
	}
	return errors.Join(err, r.stopMetrics())
}

// Command backends runs the same typed handlers on the pub/sub backend
// chosen with -backend: an order is placed, a first handler ships it by
// returning an OrderShipped event, a second handler records the shipment.
// It publishes a few orders, waits until each was shipped once with the
// correlation id it started with, prints a summary and exits.
//
//	go run ./_examples/backends -backend gochannel
//	go run ./_examples/backends -backend kafka          # embedded broker
//	go run ./_examples/backends -backend redis -dsn postgres://postgres@127.0.0.1:5432/test
//
// With -dsn every handler runs inside the inbox on that database.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/logging"
	"github.com/watermill-outbox/watermill-outbox/publisher"
	"github.com/watermill-outbox/watermill-outbox/publisher/kafkatest"
	"github.com/watermill-outbox/watermill-outbox/router"
)

// runTimeout bounds the whole run: the example never hangs.
const runTimeout = 60 * time.Second

// OrderPlaced is published when a customer places an order.
type OrderPlaced struct {
	OrderID string `json:"order_id"`
}

// OrderShipped is what the first handler returns for each order.
type OrderShipped struct {
	OrderID string `json:"order_id"`
	Carrier string `json:"carrier"`
}

type options struct {
	backend, dsn, brokers, level string
	orders                       int
}

func main() {
	var o options
	flag.StringVar(&o.backend, "backend", "gochannel",
		"one of: "+strings.Join(router.Backends(), ", "))
	flag.StringVar(&o.dsn, "dsn", "", "database for the inbox (and the sql backend); "+
		"postgres://... or user@tcp(host)/db for MySQL")
	flag.StringVar(&o.brokers, "brokers", "", "Kafka brokers; empty starts an embedded broker")
	flag.StringVar(&o.level, "log", "info", "log level: trace, debug, info, warn, error")
	flag.IntVar(&o.orders, "orders", 5, "how many orders to place")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "backends example failed:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	logger, err := logging.New(config.Log{Level: o.level}, os.Stderr)
	if err != nil {
		return err
	}
	cfg, db, cleanup, err := setup(ctx, o)
	if err != nil {
		return err
	}
	defer cleanup()
	b, err := router.NewBackend(ctx, router.BackendConfig{
		Config: cfg, DB: db, Logger: logger, GoChannelPersistent: true,
		SQLPollInterval: 50 * time.Millisecond,
	})
	if err != nil {
		return err
	}
	defer b.Close()
	return exercise(ctx, o, cfg, b, db, logger)
}

// setup builds the configuration for the chosen backend, with names unique
// to this run, and opens the database when one is given.
func setup(ctx context.Context, o options) (config.Config, *sql.DB, func(), error) {
	cfg := config.Default()
	cfg.Router.Backend = o.backend
	cfg.Router.ConsumerGroup = "example_" + watermill.NewShortUUID()
	cleanup := func() {}
	if o.backend == "kafka" && o.brokers == "" {
		broker, err := kafkatest.Start(kafkatest.Config{})
		if err != nil {
			return cfg, nil, cleanup, err
		}
		cleanup = broker.Close
		o.brokers = strings.Join(broker.Addrs(), ",")
	}
	if o.brokers != "" {
		cfg.Kafka.Brokers = strings.Split(o.brokers, ",")
	}
	if o.dsn == "" && o.backend == "sql" {
		o.dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	if o.dsn == "" {
		return cfg, nil, cleanup, nil
	}
	cfg.SQL.DSN = config.Secret(o.dsn)
	if !strings.HasPrefix(o.dsn, "postgres") {
		cfg.SQL.Dialect = "mysql"
	}
	db, err := publisher.OpenDB(ctx, cfg.SQL)
	if err != nil {
		cleanup()
		return cfg, nil, func() {}, err
	}
	prev := cleanup
	return cfg, db, func() { _ = db.Close(); prev() }, nil
}

// exercise registers the handlers, runs the router, places the orders and
// waits until every one was shipped.
func exercise(ctx context.Context, o options, cfg config.Config, b *router.Backend,
	db *sql.DB, logger watermill.LoggerAdapter) error {
	run := watermill.NewShortUUID()
	placed, shipped := "placed_"+run, "shipped_"+run
	r, err := router.New(ctx, router.Config{Router: cfg.Router, Inbox: cfg.Inbox,
		Backend: b, DB: db, Dialect: cfg.SQL.Dialect, Logger: logger})
	if err != nil {
		return err
	}
	seen := &shipments{byOrder: map[string]string{}}
	if err := addHandlers(r, placed, shipped, seen); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { _ = r.Close(); <-done }()
	select {
	case <-r.Running():
	case err := <-done:
		return err
	}
	return placeOrders(ctx, o.orders, b, placed, seen)
}

func addHandlers(r *router.Router, placed, shipped string, seen *shipments) error {
	err := router.HandleAndPublish(r, "ship", placed, shipped,
		func(_ context.Context, e OrderPlaced) ([]any, error) {
			return []any{OrderShipped{OrderID: e.OrderID, Carrier: "parcel-post"}}, nil
		})
	if err != nil {
		return err
	}
	return router.Handle(r, "record", shipped, func(ctx context.Context, e OrderShipped) error {
		seen.add(e.OrderID, publisher.CorrelationID(ctx))
		return nil
	})
}

func placeOrders(ctx context.Context, n int, b *router.Backend, topic string,
	seen *shipments) error {
	ev, err := publisher.NewEventPublisher(b.Publisher, publisher.EventPublisherConfig{}, nil)
	if err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("order-%d", i)
		if err := ev.Publish(publisher.WithCorrelationID(ctx, "corr-"+id), topic,
			OrderPlaced{OrderID: id}); err != nil {
			return err
		}
	}
	for seen.count() < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d orders shipped: %w", seen.count(), n, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return seen.check(n)
}

// shipments records the correlation id each order arrived with.
type shipments struct {
	mu      sync.Mutex
	byOrder map[string]string
}

func (s *shipments) add(order, corr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byOrder[order] = corr
}

func (s *shipments) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byOrder)
}

func (s *shipments) check(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for order, corr := range s.byOrder {
		if corr != "corr-"+order {
			errs = append(errs, fmt.Errorf("%s arrived with correlation id %q", order, corr))
		}
	}
	if len(errs) == 0 {
		fmt.Printf("%d orders placed and shipped, each with its correlation id\n", n)
	}
	return errors.Join(errs...)
}

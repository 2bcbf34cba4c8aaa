package router

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/watermill-outbox/watermill-outbox/internal/sqldialect"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// newSQLBackend builds the sql backend (PostgreSQL or MySQL/MariaDB) on
// watermill-sql: topics are tables created on first use, and the consumer
// group's offset advances only when the router acknowledges a message.
func newSQLBackend(ctx context.Context, cfg BackendConfig, b *Backend) error {
	s := cfg.Config.SQL
	b.Addr = s.Dialect + " " + s.RedactedDSN()
	d, err := sqldialect.Get(s.Dialect)
	if err != nil {
		return err
	}
	db, err := sqlBackendDB(ctx, cfg, b)
	if err != nil {
		return err
	}
	pub, err := wsql.NewPublisher(db, wsql.PublisherConfig{
		SchemaAdapter:        d.SchemaAdapter(),
		AutoInitializeSchema: true,
	}, cfg.Logger)
	if err != nil {
		return fmt.Errorf("publisher: %w", err)
	}
	b.ownPublisher(sqlPublisher{pub})
	sub, err := wsql.NewSubscriber(db, wsql.SubscriberConfig{
		ConsumerGroup:    cfg.Config.Router.ConsumerGroup,
		SchemaAdapter:    d.SchemaAdapter(),
		OffsetsAdapter:   d.OffsetsAdapter(),
		InitializeSchema: true,
		PollInterval:     cfg.SQLPollInterval,
	}, cfg.Logger)
	if err != nil {
		return fmt.Errorf("subscriber: %w", err)
	}
	b.ownSubscriber(sqlSubscriber{sub})
	b.ping = db.PingContext
	return nil
}

// sqlBackendDB returns cfg.DB after a ping, or opens Config.SQL.
func sqlBackendDB(ctx context.Context, cfg BackendConfig, b *Backend) (*sql.DB, error) {
	if cfg.DB == nil {
		db, err := publisher.OpenDB(ctx, cfg.Config.SQL)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBackendUnreachable, err)
		}
		b.onClose(db.Close)
		return db, nil
	}
	if err := cfg.DB.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBackendUnreachable, err)
	}
	return cfg.DB, nil
}

// schemaTries bounds how often a topic's tables are created when a
// concurrent creation collides.
const schemaTries = 3

// schemaRace reports an error of PostgreSQL's CREATE TABLE IF NOT EXISTS
// losing a race with the same statement in another session: the table, its
// type or its index was created meanwhile. Trying again sees it.
func schemaRace(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "42P07", "23505", "42710": // duplicate_table, unique_violation, duplicate_object
		return true
	}
	return false
}

// raceRetry runs f, up to schemaTries times while it fails with a
// schemaRace error.
func raceRetry(f func() error) error {
	var err error
	for i := 0; i < schemaTries; i++ {
		if err = f(); err == nil || !schemaRace(err) {
			return err
		}
	}
	return err
}

// sqlPublisher creates a topic's tables on first use, like watermill-sql's
// publisher, and tries again when that creation raced with a subscriber's.
type sqlPublisher struct{ *wsql.Publisher }

// Publish writes msgs to topic's table.
func (p sqlPublisher) Publish(topic string, msgs ...*message.Message) error {
	return raceRetry(func() error { return p.Publisher.Publish(topic, msgs...) })
}

// sqlSubscriber is the subscriber counterpart of sqlPublisher.
type sqlSubscriber struct{ *wsql.Subscriber }

// Subscribe reads topic in the configured consumer group.
func (s sqlSubscriber) Subscribe(ctx context.Context, topic string) (
	<-chan *message.Message, error) {
	var ch <-chan *message.Message
	err := raceRetry(func() (err error) {
		ch, err = s.Subscriber.Subscribe(ctx, topic)
		return err
	})
	return ch, err
}

// SubscribeInitialize creates topic's tables.
func (s sqlSubscriber) SubscribeInitialize(topic string) error {
	return raceRetry(func() error { return s.Subscriber.SubscribeInitialize(topic) })
}

package router

import (
	"context"
	"database/sql"
	"fmt"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"

	"github.com/watermill-outbox/watermill-outbox/internal/sqldb"
	"github.com/watermill-outbox/watermill-outbox/internal/sqldialect"
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
	b.Publisher = pub
	b.onClose(pub.Close)
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
	b.Subscriber = sub
	b.onClose(sub.Close)
	b.ping = db.PingContext
	return nil
}

// sqlBackendDB returns cfg.DB after a ping, or opens Config.SQL.
func sqlBackendDB(ctx context.Context, cfg BackendConfig, b *Backend) (*sql.DB, error) {
	if cfg.DB == nil {
		db, err := sqldb.Open(ctx, cfg.Config.SQL)
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

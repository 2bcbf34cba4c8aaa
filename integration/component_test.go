package integration

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	wmforwarder "github.com/ThreeDotsLabs/watermill/components/forwarder"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// runningForwarder is a forwarder started by a test; stop ends it and
// releases what it holds, within a bounded time.
type runningForwarder interface {
	stop() error
}

// componentForwarder is the plain composition the issue measures: Watermill's
// forwarder component over a watermill-sql subscriber with default settings
// and watermill-kafka's synchronous publisher.
type componentForwarder struct {
	fwd    *wmforwarder.Forwarder
	sub    *wsql.Subscriber
	pub    *kafka.Publisher
	cancel context.CancelFunc
	done   chan error
}

// startComponent starts the plain composition on db and returns once its
// router runs.
func startComponent(db *stdsql.DB, dialect string, brokers []string) (*componentForwarder, error) {
	logger := watermill.NopLogger{}
	sub, err := wsql.NewSubscriber(db, wsql.SubscriberConfig{
		SchemaAdapter:  schemaAdapter(dialect),
		OffsetsAdapter: offsetsAdapter(dialect),
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("sql subscriber: %w", err)
	}
	scfg := kafka.DefaultSaramaSyncPublisherConfig()
	scfg.Version = testenv.KafkaVersion
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{
		Brokers:               brokers,
		Marshaler:             kafka.DefaultMarshaler{},
		OverwriteSaramaConfig: scfg,
	}, logger)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("kafka publisher: %w", err), sub.Close())
	}
	fwd, err := wmforwarder.NewForwarder(sub, pub, logger,
		wmforwarder.Config{ForwarderTopic: outboxTopic})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("forwarder: %w", err), sub.Close(), pub.Close())
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &componentForwarder{
		fwd: fwd, sub: sub, pub: pub, cancel: cancel, done: make(chan error, 1),
	}
	go func() { c.done <- fwd.Run(ctx) }()
	select {
	case <-fwd.Running():
		return c, nil
	case err := <-c.done:
		cancel()
		return nil, errors.Join(fmt.Errorf("forwarder run: %w", err), sub.Close(), pub.Close())
	case <-time.After(15 * time.Second):
		return nil, errors.Join(errors.New("forwarder not running after 15s"), c.stop())
	}
}

func (c *componentForwarder) stop() error {
	c.cancel()
	err := c.fwd.Close()
	select {
	case runErr := <-c.done:
		err = errors.Join(err, runErr)
	case <-time.After(35 * time.Second):
		err = errors.Join(err, errors.New("forwarder run did not return"))
	}
	return errors.Join(err, c.pub.Close(), c.sub.Close())
}

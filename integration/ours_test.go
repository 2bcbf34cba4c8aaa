package integration

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/watermill-outbox/watermill-outbox/forwarder"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// ourGroup is the consumer group of our forwarder, its default.
const ourGroup = "outbox-forwarder"

// oursForwarder is this project's forwarder, batch mode, run by a test.
type oursForwarder struct {
	fwd    *forwarder.Forwarder
	cancel context.CancelFunc
	done   chan error
}

// startOurs starts this project's forwarder in batch mode on db. On
// PostgreSQL it LISTENs on db.DSN for the outbox's notifications.
func startOurs(db *testenv.DB, spec forwarderSpec) (*oursForwarder, error) {
	fwd, err := forwarder.New(forwarder.Config{
		DB:        db.DB,
		Dialect:   db.Dialect,
		DSN:       db.DSN,
		Brokers:   spec.Brokers,
		Mode:      forwarder.ModeBatch,
		BatchSize: spec.BatchSize,
	})
	if err != nil {
		return nil, fmt.Errorf("new forwarder: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := &oursForwarder{fwd: fwd, cancel: cancel, done: make(chan error, 1)}
	go func() { o.done <- fwd.Run(ctx) }()
	return o, nil
}

func (o *oursForwarder) stop() error {
	o.cancel()
	err := o.fwd.Close()
	select {
	case runErr := <-o.done:
		return errors.Join(err, runErr)
	case <-time.After(35 * time.Second):
		return errors.Join(err, errors.New("forwarder run did not return within 35s"))
	}
}

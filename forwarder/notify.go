package forwarder

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/jackc/pgx/v5"
)

// listen keeps a dedicated PostgreSQL connection LISTENing on
// NotifyChannel(Topic) and wakes the shard named in each notification's
// payload (every shard when the payload names none of them). It
// reconnects with backoff, logging the loss once, and wakes the shards after
// each reconnect so notifications missed meanwhile cost no latency.
func (f *Forwarder) listen(ctx context.Context) {
	bo := backoff{initial: f.cfg.BackoffInitial, max: f.cfg.BackoffMax}
	for ctx.Err() == nil {
		err := f.listenOnce(ctx, &bo)
		if ctx.Err() != nil {
			return
		}
		f.listenLink.fail(err, nil)
		sleep(ctx.Done(), bo.wait())
	}
}

func (f *Forwarder) listenOnce(ctx context.Context, bo *backoff) error {
	conn, err := pgx.Connect(ctx, f.cfg.DSN)
	if err != nil {
		return fmt.Errorf("forwarder: connect for listen: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	channel := pgx.Identifier{NotifyChannel(f.cfg.Topic)}.Sanitize()
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return fmt.Errorf("forwarder: listen %s: %w", channel, err)
	}
	f.listenLink.ok(nil)
	bo.reset()
	f.Wake()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("forwarder: wait for notification on %s: %w", channel, err)
		}
		f.logger.Trace("Outbox notification", watermill.LogFields{"topic": n.Payload})
		f.Notify(n.Payload)
	}
}

// Package inbox makes a Watermill consumer apply every message exactly once
// in effect. Its middleware records each message's key in a deduplication
// table inside the same database transaction as the handler's own writes,
// so a redelivered message, a concurrent second delivery or a retry after a
// failed attempt changes nothing that was already committed.
//
// The package also retries failing handlers in-process with exponential
// backoff, moves messages that keep failing to a poison topic (and can send
// them back with Requeue), deletes old deduplication rows (Cleanup,
// RunRetention) and exports Prometheus metrics.
//
// Typical use:
//
//	if err := inbox.Migrate(ctx, db, "postgres", "watermill_inbox"); err != nil { ... }
//	icfg := inbox.ConfigFrom(cfg) // cfg is a config.Config
//	icfg.DB, icfg.Publisher, icfg.Logger = db, kafkaPublisher, logger
//	ib, err := inbox.New(icfg)
//	defer ib.Close() // releases the prepared key insert (MySQL)
//	h := router.AddConsumerHandler("orders", "orders", sub, handleOrder)
//	h.AddMiddleware(ib.Middleware)
//
// Inside the handler, TxFromContext(msg.Context()) returns the transaction
// that will hold the inbox row; write through it, and publish through an
// outbox publisher built on it, so everything commits or rolls back together.
//
// Supported dialects: "postgres" and "mysql" (MySQL and MariaDB). The table
// layout, the guarantees and their limits are described in docs/inbox.md.
package inbox

// Package router composes message handlers on a Watermill router built from
// configuration: a pub/sub backend chosen by name (NewBackend: kafka, sql,
// gochannel, amqp, nats, redis), the standard middleware in one fixed order,
// typed handlers (Handle, HandleAndPublish), an automatic log line per
// message event, Prometheus metrics and a health endpoint.
//
// # Middleware order
//
// Outermost first; each can be switched off in MiddlewareConfig:
//
//	shutdown_grace   lets handlers in flight finish within the close timeout
//	correlation_id   gives the delivery a correlation id and puts it in ctx
//	logging          received / handled / failed / duplicate / poisoned
//	metrics          Watermill's handler metrics, one sample per delivery
//	inbox            with a DB: one transaction per attempt, retry, poison
//	  or poison_queue + retry   without one: Watermill's middleware
//	logging.attempt  counts attempts, logs "retried"
//	timeout          bounds each attempt, restores the context after it
//	panic_recovery   turns a panic into an error of that attempt
//	user middleware  Extra and AddMiddleware, in the order added
//	handler
//
// Retry sits outside the transaction, so every attempt gets a fresh one, and
// the timeout and the panic recovery sit inside the retry, so each attempt
// has its own deadline and a panicking handler is retried and poisoned like
// a failing one. With the inbox on, its own retry and poison path are used
// and Watermill's Retry and PoisonQueue are left out: nothing retries twice.
// Run logs the resulting order in one info line.
//
// # Typed handlers
//
// Handle registers func(ctx, T) error for a topic through Watermill's CQRS
// event processor; HandleAndPublish registers func(ctx, T) ([]any, error)
// whose results are published. Payloads are JSON unless WithMarshaler says
// otherwise; one that does not decode is poisoned at once (ErrDecode, marked
// inbox.Permanent). The ctx carries the inbox transaction and the
// correlation id, which publisher.EventPublisher stamps on what it sends.
//
// The details, and each backend's settings, are in docs/router.md.
package router

package publisher

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// MetadataCorrelationID is the metadata key of the correlation id. It is the
// key Watermill's correlation middleware reads and writes, so ids set here
// survive a hop through a Watermill router that uses that middleware.
const MetadataCorrelationID = middleware.CorrelationIDMetadataKey

type correlationKey struct{}

// WithCorrelationID returns a copy of ctx that carries id as the correlation
// id of every message published with it. An empty id leaves ctx unchanged.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, correlationKey{}, id)
}

// CorrelationID returns the correlation id carried by ctx, or "" when there
// is none.
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}

// MessageContext returns msg's context carrying msg's correlation id, so
// that a handler which publishes while handling msg continues its chain:
// events.Publish(publisher.MessageContext(msg), topic, event).
func MessageContext(msg *message.Message) context.Context {
	return WithCorrelationID(msg.Context(), middleware.MessageCorrelationID(msg))
}

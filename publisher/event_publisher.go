package publisher

import (
	"context"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
)

// Metadata keys that EventPublisher sets on every message.
const (
	// MetadataEventType holds the event's type name (see EventType).
	MetadataEventType = "event_type"
	// MetadataPartitionKey holds the partition key. The Kafka publisher
	// turns it into the record key, so every message with one key goes to
	// one partition and keeps its order there. Empty means no key.
	MetadataPartitionKey = "partition_key"
)

// NamedEvent is implemented by events that choose their own type name
// instead of their Go type name.
type NamedEvent interface {
	// EventName returns the name stored in the event_type metadata.
	EventName() string
}

// KeyedEvent is implemented by events that carry their own partition key.
// WithPartitionKey overrides it for one call.
type KeyedEvent interface {
	// PartitionKey returns the key that orders this event among others;
	// events with one key are delivered in publishing order.
	PartitionKey() string
}

// EventType returns the type name of event: its EventName when it is a
// NamedEvent, otherwise its Go type name without package or pointer
// ("OrderPlaced" for *orders.OrderPlaced).
func EventType(event any) string {
	if n, ok := event.(NamedEvent); ok {
		return n.EventName()
	}
	return cqrs.StructName(event)
}

// EventPublisherConfig configures an EventPublisher.
type EventPublisherConfig struct {
	// Marshaler turns an event into a message payload. Any Watermill CQRS
	// marshaler fits (cqrs.ProtobufMarshaler, a decorated one, ...).
	// Default: cqrs.JSONMarshaler naming events with EventType, which also
	// sets the "name" metadata that cqrs event processors dispatch on.
	Marshaler cqrs.CommandEventMarshaler
}

func (c *EventPublisherConfig) setDefaults() {
	if c.Marshaler == nil {
		c.Marshaler = cqrs.JSONMarshaler{GenerateName: EventType}
	}
}

// Validate reports what is wrong with the config; after defaults nothing is.
func (c EventPublisherConfig) Validate() error {
	if c.Marshaler == nil {
		return errors.New("publisher: event publisher config: marshaler is nil")
	}
	return nil
}

// EventPublisher publishes Go values as Watermill messages through any
// message.Publisher: the Kafka publisher, the transactional outbox publisher
// or another backend. Each message gets a fresh UUID, the event type, the
// correlation id found in the context and, when there is one, a partition
// key, and carries the context (msg.Context()).
//
// It is safe for concurrent use when the underlying publisher is. Publish
// returns once the underlying publisher returns: for Kafka after the broker
// acknowledged the write, for the outbox once the row is in the caller's
// transaction (and so is sent only if that transaction commits).
type EventPublisher struct {
	pub    message.Publisher
	config EventPublisherConfig
	logger watermill.LoggerAdapter
}

// NewEventPublisher returns an EventPublisher writing to pub. A nil logger
// logs nothing.
func NewEventPublisher(
	pub message.Publisher, config EventPublisherConfig, logger watermill.LoggerAdapter,
) (*EventPublisher, error) {
	if pub == nil {
		return nil, errors.New("publisher: event publisher: message publisher is nil")
	}
	config.setDefaults()
	if err := config.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	return &EventPublisher{pub: pub, config: config, logger: logger}, nil
}

// Publish marshals event and publishes it to topic. Without a correlation id
// in ctx (see WithCorrelationID) the message starts a new chain and its
// correlation id is its own UUID. A ctx that is already done publishes
// nothing and returns its error.
func (p *EventPublisher) Publish(
	ctx context.Context, topic string, event any, opts ...PublishOption,
) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publisher: topic %q: event %s: %w", topic, EventType(event), err)
	}
	msg, err := p.NewMessage(ctx, event, opts...)
	if err != nil {
		return fmt.Errorf("publisher: topic %q: %w", topic, err)
	}
	if err := p.pub.Publish(topic, msg); err != nil {
		return fmt.Errorf("publisher: topic %q: event %s %s: %w",
			topic, EventType(event), msg.UUID, err)
	}
	p.logger.Trace("event published", watermill.LogFields{
		"topic": topic, "message_uuid": msg.UUID, "event_type": EventType(event),
		"correlation_id": msg.Metadata.Get(MetadataCorrelationID),
	})
	return nil
}

// NewMessage builds the message Publish would send, without sending it: for
// callers that hand messages to a message.Publisher themselves.
func (p *EventPublisher) NewMessage(
	ctx context.Context, event any, opts ...PublishOption,
) (*message.Message, error) {
	if event == nil {
		return nil, errors.New("event is nil")
	}
	o := publishOptions{}
	if k, ok := event.(KeyedEvent); ok {
		o.key = k.PartitionKey()
	}
	for _, opt := range opts {
		opt(&o)
	}
	msg, err := p.config.Marshaler.Marshal(event)
	if err != nil {
		return nil, fmt.Errorf("event %s: marshal: %w", EventType(event), err)
	}
	decorate(ctx, msg, event, o)
	return msg, nil
}

func decorate(ctx context.Context, msg *message.Message, event any, o publishOptions) {
	if o.uuid != "" {
		msg.UUID = o.uuid
	} else if msg.UUID == "" {
		msg.UUID = uuid.NewString()
	}
	if msg.Metadata == nil {
		msg.Metadata = message.Metadata{}
	}
	for k, v := range o.metadata {
		msg.Metadata.Set(k, v)
	}
	msg.Metadata.Set(MetadataEventType, EventType(event))
	corr := CorrelationID(ctx)
	if corr == "" {
		corr = msg.UUID
	}
	msg.Metadata.Set(MetadataCorrelationID, corr)
	if o.key != "" {
		msg.Metadata.Set(MetadataPartitionKey, o.key)
	}
	msg.SetContext(ctx)
}

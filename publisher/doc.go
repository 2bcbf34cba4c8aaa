// Package publisher holds the publishing side of watermill-outbox.
//
// # The contract
//
// Watermill's message.Publisher is the one interface every backend
// implements here: the Kafka publisher (Kafka), the transactional outbox
// publisher that writes into a caller's *sql.Tx, and any other Watermill
// backend. Code that publishes depends on that interface only, so the same
// handler publishes straight to Kafka in one service and through the outbox
// in another.
//
// # Typed, context-aware publishing
//
// message.Publisher takes no context and raw bytes. EventPublisher sits on
// top of any message.Publisher and takes a context and a Go value: it
// marshals the value, gives the message a fresh UUID, records the event type
// (MetadataEventType), the correlation id carried by the context
// (WithCorrelationID, CorrelationID; the key is Watermill's own
// correlation_id), and the partition key (KeyedEvent or WithPartitionKey,
// MetadataPartitionKey), and attaches the context to the message.
//
// The marshaler is Watermill's cqrs.CommandEventMarshaler, so JSON
// (cqrs.JSONMarshaler, the default), protobuf or a decorated marshaler plug
// in unchanged, and the default also writes the "name" metadata that cqrs
// event processors dispatch on: a consumer may use Watermill's CQRS
// component without knowing this package.
//
// EventPublisher does not wrap cqrs.EventBus. EventBus derives the topic
// from the event's name through one function fixed at construction and has
// no per-call settings, while Publish here takes the topic from the caller
// (the outbox and the forwarder route by topic) and per-call options such as
// the partition key and a stable message UUID. What EventBus would add
// beyond that (marshal, set the context, publish) is a few lines, and doing
// it here keeps errors in this package's form.
//
// # Kafka
//
// SaramaConfig turns config.Kafka into a sarama configuration with pinned
// protocol version, acks, idempotence, compression, bounded timeouts, TLS
// and SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512). NewKafka builds a
// publisher on watermill-kafka from it and returns only once the brokers
// answered, or with an error wrapping ErrBrokerUnreachable or
// ErrAuthenticationFailed within the dial timeout. KafkaMarshaler maps the
// partition_key metadata to the record key, so one key always lands on one
// partition, and carries the UUID and all metadata as record headers.
//
// Known limits: a Kafka publisher sends the messages of one Publish call
// one after another, each waiting for its acknowledgement (watermill-kafka's
// synchronous producer); throughput comes from concurrent callers, whose
// sends sarama batches. The start-up check cannot tell every broker's way of
// refusing credentials from other failures, so with SASL on, a broker that
// accepts TCP but fails the start is reported as an authentication failure.
package publisher

// Package publisher holds the publishing side of watermill-outbox: the
// sarama configuration built from config.Kafka, the Kafka publisher with an
// explicit lifecycle, and a typed, context-aware helper that turns Go values
// into Watermill messages for any message.Publisher.
package publisher

package publisher

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/config"
)

// Kafka is a message.Publisher that writes to Kafka through watermill-kafka
// and a sarama synchronous producer configured by SaramaConfig.
//
// Publish returns once the broker has acknowledged every message (with the
// default acks "all", once every in-sync replica has it), or at the first
// message that failed: messages before it are written, those after it are
// not tried. Messages with one MetadataPartitionKey go to one partition, in
// the order they were published. Metadata and the UUID travel as record
// headers (see KafkaMarshaler).
//
// A Kafka is safe for concurrent use. Close waits for publishes in flight,
// then flushes and releases the producer; Publish after Close returns
// ErrClosed.
type Kafka struct {
	mu     sync.RWMutex
	closed bool
	pub    *kafka.Publisher
	desc   string
	logger watermill.LoggerAdapter
}

var _ message.Publisher = (*Kafka)(nil)

// NewKafka builds the producer from cfg and checks that the brokers answer:
// it returns within cfg.DialTimeout (or sooner if ctx ends) with a ready
// publisher or an error. The error wraps ErrBrokerUnreachable when no broker
// could be reached, ErrAuthenticationFailed when SASL did not succeed, and
// ErrInvalidKafkaConfig when cfg cannot be used. A nil logger logs nothing.
func NewKafka(
	ctx context.Context, cfg config.Kafka, logger watermill.LoggerAdapter,
) (*Kafka, error) {
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	cfg = withKafkaDefaults(cfg)
	sc, err := SaramaConfig(cfg)
	if err != nil {
		return nil, err
	}
	pub, err := connect(ctx, cfg, sc, logger)
	if err != nil {
		return nil, err
	}
	fields := watermill.LogFields{"brokers": strings.Join(cfg.Brokers, ","),
		"client_id": cfg.ClientID}
	logger.Info("kafka publisher connected", fields)
	return &Kafka{pub: pub, desc: brokerList(cfg), logger: logger.With(fields)}, nil
}

// connect runs the producer's construction, which fetches cluster metadata,
// under a deadline of DialTimeout. sarama takes no context, so on timeout the
// construction is left to finish in the background and its producer closed.
func connect(
	ctx context.Context, cfg config.Kafka, sc *sarama.Config, logger watermill.LoggerAdapter,
) (*kafka.Publisher, error) {
	if err := ctx.Err(); err != nil {
		return nil, timeoutError(cfg, err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	type result struct {
		pub *kafka.Publisher
		err error
	}
	done := make(chan result, 1)
	go func() {
		pub, err := kafka.NewPublisher(kafka.PublisherConfig{
			Brokers:               cfg.Brokers,
			Marshaler:             KafkaMarshaler{},
			OverwriteSaramaConfig: sc,
		}, logger)
		done <- result{pub, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, classifyConnectError(cfg, r.err)
		}
		return r.pub, nil
	case <-ctx.Done():
		go func() {
			if r := <-done; r.pub != nil {
				_ = r.pub.Close()
			}
		}()
		return nil, timeoutError(cfg, ctx.Err())
	}
}

// Publish sends msgs to topic in order, each acknowledged before the next
// is sent. Errors name the topic and wrap the cause (for example
// sarama.ErrMessageSizeTooLarge).
func (k *Kafka) Publish(topic string, msgs ...*message.Message) error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.closed {
		return fmt.Errorf("publisher: kafka topic %q: %w", topic, ErrClosed)
	}
	if err := k.pub.Publish(topic, msgs...); err != nil {
		return fmt.Errorf("publisher: kafka topic %q: %w", topic, err)
	}
	return nil
}

// Close flushes what is buffered, releases the producer and its
// connections, and makes later Publish calls fail. Closing twice is a no-op.
func (k *Kafka) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil
	}
	k.closed = true
	if err := k.pub.Close(); err != nil {
		return fmt.Errorf("publisher: kafka brokers %s: close: %w", k.desc, err)
	}
	k.logger.Info("kafka publisher closed", nil)
	return nil
}

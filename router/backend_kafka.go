package router

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"

	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// newKafkaBackend builds the kafka backend: the project's Kafka publisher
// (which checks the brokers answer) and a watermill-kafka consumer-group
// subscriber on publisher.SaramaConfig. Its defaults lose nothing: a new
// consumer group starts from the oldest offset, and an offset is marked only
// when the router acknowledges the message, which is after the handler (and
// its inbox transaction) succeeded; a nacked message is sent again.
func newKafkaBackend(ctx context.Context, cfg BackendConfig, b *Backend) error {
	k := cfg.Config.Kafka
	b.Addr = strings.Join(k.Brokers, ",")
	pub, err := publisher.NewKafka(ctx, k, cfg.Logger)
	if err != nil {
		if errors.Is(err, publisher.ErrBrokerUnreachable) {
			return fmt.Errorf("%w: %w", ErrBackendUnreachable, err)
		}
		return err
	}
	b.ownPublisher(pub)
	sc, err := kafkaSubscriberConfig(cfg)
	if err != nil {
		return err
	}
	sub, err := kafka.NewSubscriber(kafka.SubscriberConfig{
		Brokers:               k.Brokers,
		Unmarshaler:           publisher.KafkaMarshaler{},
		OverwriteSaramaConfig: sc,
		ConsumerGroup:         cfg.Config.Router.ConsumerGroup,
	}, cfg.Logger)
	if err != nil {
		return fmt.Errorf("subscriber: %w", err)
	}
	b.ownSubscriber(sub)
	b.ping = func(ctx context.Context) error { return dialAny(ctx, k.Brokers) }
	return nil
}

// kafkaSubscriberConfig is publisher.SaramaConfig with the consumer settings
// that lose nothing.
func kafkaSubscriberConfig(cfg BackendConfig) (*sarama.Config, error) {
	sc, err := publisher.SaramaConfig(cfg.Config.Kafka)
	if err != nil {
		return nil, err
	}
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Return.Errors = true
	return sc, nil
}

// dialAny succeeds when any of addrs accepts a TCP connection.
func dialAny(ctx context.Context, addrs []string) error {
	var errs []error
	for _, a := range addrs {
		err := dialCheck(ctx, a)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

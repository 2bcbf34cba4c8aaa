package forwarder

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	wforwarder "github.com/ThreeDotsLabs/watermill/components/forwarder"
	"github.com/ThreeDotsLabs/watermill/message"
)

// runComponent runs Watermill's components/forwarder, one per shard, each
// over a watermill-sql subscriber (defaults, with the adapters of the
// dialect and this forwarder's consumer group and poll interval) and one
// shared watermill-kafka publisher whose marshaler keys records by the
// partition key metadata. The backlog gauges and health checks run as in
// the batch mode. It returns when ctx ends.
func (f *Forwarder) runComponent(ctx context.Context) error {
	pub, err := f.componentPublisher()
	if err != nil {
		return err
	}
	defer func() { _ = pub.Close() }()
	var helpers sync.WaitGroup
	defer helpers.Wait()
	helpers.Go(func() { f.monitor(ctx) })
	helpers.Go(func() { f.watchKafka(ctx) })
	var fwds []*wforwarder.Forwarder
	for _, t := range f.topics {
		fwd, err := f.componentForwarder(t, pub)
		if err != nil {
			closeAll(fwds)
			return err
		}
		fwds = append(fwds, fwd)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(fwds))
	for i, fwd := range fwds {
		wg.Go(func() { errs[i] = fwd.Run(ctx) })
	}
	<-ctx.Done()
	closeAll(fwds)
	wg.Wait()
	return errors.Join(errs...)
}

func closeAll(fwds []*wforwarder.Forwarder) {
	for _, fwd := range fwds {
		_ = fwd.Close()
	}
}

func (f *Forwarder) componentPublisher() (*kafka.Publisher, error) {
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{
		Brokers:               f.cfg.Brokers,
		Marshaler:             keyMarshaler{key: f.cfg.PartitionKeyMetadata},
		OverwriteSaramaConfig: f.producer.cfg,
	}, f.logger)
	if err != nil {
		return nil, fmt.Errorf("forwarder: create kafka publisher: %w", err)
	}
	return pub, nil
}

func (f *Forwarder) componentForwarder(topic string,
	pub message.Publisher) (*wforwarder.Forwarder, error) {
	sub, err := wsql.NewSubscriber(f.cfg.DB, f.subscriberConfig(),
		f.logger)
	if err != nil {
		return nil, fmt.Errorf("forwarder: create sql subscriber for %q: %w", topic, err)
	}
	fwd, err := wforwarder.NewForwarder(sub, pub, f.logger,
		wforwarder.Config{ForwarderTopic: topic})
	if err != nil {
		return nil, fmt.Errorf("forwarder: create component forwarder for %q: %w", topic, err)
	}
	return fwd, nil
}

func (f *Forwarder) subscriberConfig() wsql.SubscriberConfig {
	c := wsql.SubscriberConfig{
		ConsumerGroup: f.cfg.ConsumerGroup,
		PollInterval:  f.cfg.PollInterval,
	}
	if f.cfg.Dialect == DialectPostgres {
		c.SchemaAdapter = wsql.DefaultPostgreSQLSchema{}
		c.OffsetsAdapter = wsql.DefaultPostgreSQLOffsetsAdapter{}
	} else {
		c.SchemaAdapter = wsql.DefaultMySQLSchema{}
		c.OffsetsAdapter = wsql.DefaultMySQLOffsetsAdapter{}
	}
	return c
}

// keyMarshaler is watermill-kafka's default marshaler that also sets the
// record key from a metadata entry, leaving it nil (spread by the
// partitioner) for messages without one, as the batch mode does.
type keyMarshaler struct {
	kafka.DefaultMarshaler
	key string
}

func (m keyMarshaler) Marshal(topic string, msg *message.Message) (*sarama.ProducerMessage, error) {
	rec, err := m.DefaultMarshaler.Marshal(topic, msg)
	if err != nil {
		return nil, err
	}
	if k := msg.Metadata.Get(m.key); k != "" {
		rec.Key = sarama.StringEncoder(k)
	}
	return rec, nil
}

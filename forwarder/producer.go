package forwarder

import (
	"fmt"
	"sync"

	"github.com/IBM/sarama"
)

// producer creates the sarama producer on first use, so a forwarder starts
// (and reports itself unhealthy) while Kafka is still unreachable.
type producer struct {
	brokers []string
	cfg     *sarama.Config

	mu     sync.Mutex
	given  sarama.SyncProducer
	client sarama.Client
	sync   sarama.SyncProducer
}

func newProducer(c Config) *producer {
	cfg := c.Kafka
	if cfg == nil {
		cfg = DefaultSaramaConfig()
	}
	return &producer{brokers: c.Brokers, cfg: cfg, given: c.Producer}
}

// get returns the producer, connecting first if needed.
func (p *producer) get() (sarama.SyncProducer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.given != nil {
		return p.given, nil
	}
	if p.sync != nil {
		return p.sync, nil
	}
	client, err := sarama.NewClient(p.brokers, p.cfg)
	if err != nil {
		return nil, fmt.Errorf("forwarder: connect to kafka %v: %w", p.brokers, err)
	}
	prod, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("forwarder: create kafka producer: %w", err)
	}
	p.client, p.sync = client, prod
	return prod, nil
}

// maxMessageBytes is the producer's own size limit.
func (p *producer) maxMessageBytes() int { return p.cfg.Producer.MaxMessageBytes }

// check asks the brokers for metadata. A producer given by the caller is not
// checked: its health shows only through sends.
func (p *producer) check() error {
	if p.given != nil {
		return nil
	}
	if _, err := p.get(); err != nil {
		return err
	}
	p.mu.Lock()
	client := p.client
	p.mu.Unlock()
	if err := client.RefreshMetadata(); err != nil {
		return fmt.Errorf("forwarder: kafka metadata: %w", err)
	}
	return nil
}

// close closes what the forwarder created itself.
func (p *producer) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sync == nil {
		return nil
	}
	err := p.sync.Close()
	if cerr := p.client.Close(); err == nil && cerr != sarama.ErrClosedClient {
		err = cerr
	}
	p.sync, p.client = nil, nil
	if err != nil {
		return fmt.Errorf("forwarder: close kafka producer: %w", err)
	}
	return nil
}

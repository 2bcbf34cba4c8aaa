package forwarder

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/watermill-outbox/watermill-outbox/publisher"
)

var (
	// ErrClosed is returned by Run on a forwarder that was closed or has
	// already run: a Forwarder runs once.
	ErrClosed = errors.New("forwarder: closed")
	// ErrNotRunning is the health of a forwarder whose Run is not active.
	ErrNotRunning = errors.New("forwarder: not running")
	errNotChecked = errors.New("forwarder: not checked yet")
)

// Forwarder moves committed outbox rows to Kafka. Create it with New, start
// it with Run and stop it by cancelling Run's context or calling Close. Its
// methods are safe for concurrent use. A Forwarder runs once.
type Forwarder struct {
	cfg      Config
	dialect  dialect
	topics   []string
	producer *producer
	metrics  *metrics
	logger   watermill.LoggerAdapter

	dbLink, kafkaLink, listenLink *link

	wake     []chan struct{}
	lastSend atomic.Int64 // unix nanoseconds of the last Kafka send
	// sendFailing is set while the last batch sent had records Kafka did not
	// confirm; only a later send, not a metadata check, clears it.
	sendFailing atomic.Bool
	started     atomic.Bool
	running     atomic.Bool
	closing     chan struct{}
	done        chan struct{}
	once        sync.Once
}

// New checks the configuration, fills in defaults and builds a Forwarder.
// It does not connect to Kafka or the database: Run does, and keeps trying
// while they are unreachable.
func New(cfg Config) (*Forwarder, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d, err := newDialect(cfg.Dialect)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger.With(watermill.LogFields{
		"topic": cfg.Topic, "consumer_group": cfg.ConsumerGroup, "mode": cfg.Mode.String(),
	})
	f := &Forwarder{
		cfg: cfg, dialect: d, topics: publisher.ShardTopics(cfg.Topic, cfg.Shards),
		producer: newProducer(cfg), metrics: newMetrics(cfg.Registerer), logger: logger,
		dbLink:     newLink("the database", logger),
		kafkaLink:  newLink("kafka", logger),
		listenLink: newLink("the postgres notification connection", logger),
		closing:    make(chan struct{}), done: make(chan struct{}),
	}
	for range f.topics {
		f.wake = append(f.wake, make(chan struct{}, 1))
	}
	return f, nil
}

// Run forwards rows until ctx is cancelled or Close is called, then lets
// the batches in flight finish (each is either committed or rolled back),
// closes the Kafka producer it created and returns nil. Database and Kafka outages do not end Run: it backs off and
// retries, logging the outage once. It returns an error only when it cannot
// start (ErrClosed, or creating the schema failed).
func (f *Forwarder) Run(ctx context.Context) error {
	if !f.started.CompareAndSwap(false, true) {
		return ErrClosed
	}
	defer close(f.done)
	defer func() { _ = f.producer.close() }()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-f.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	if f.cfg.InitializeSchema {
		if err := f.initSchema(ctx); err != nil {
			return err
		}
	}
	f.running.Store(true)
	defer f.running.Store(false)
	if f.cfg.Mode == ModeComponent {
		return f.runComponent(ctx)
	}
	f.runBatch(ctx)
	return nil
}

// runBatch starts one worker per shard and the helpers, and waits for all.
func (f *Forwarder) runBatch(ctx context.Context) {
	var wg sync.WaitGroup
	for i, t := range f.topics {
		wg.Go(func() { f.drainShard(ctx, t, f.wake[i]) })
	}
	wg.Go(func() { f.monitor(ctx) })
	wg.Go(func() { f.watchKafka(ctx) })
	if f.cfg.Retention > 0 {
		wg.Go(func() { f.retainLoop(ctx) })
	}
	if f.cfg.Dialect == DialectPostgres && f.cfg.DSN != "" {
		wg.Go(func() { f.listen(ctx) })
	}
	wg.Wait()
}

// Close stops Run, waits for the batches in flight to finish and closes the
// Kafka producer the forwarder created. It is safe to call more than once,
// and before or without Run.
func (f *Forwarder) Close() error {
	f.once.Do(func() { close(f.closing) })
	if f.started.CompareAndSwap(false, true) {
		close(f.done)
	}
	<-f.done
	return f.producer.close()
}

// Wake tells the forwarder that rows were committed, so idle shards look
// at once instead of at the next poll. Publishers in the same process call
// it after their transaction commits. It never blocks.
func (f *Forwarder) Wake() {
	for _, ch := range f.wake {
		wakeOne(ch)
	}
}

// Notify wakes the shard with the given SQL topic (all shards for a topic
// this forwarder does not know). It makes a Forwarder a publisher.Notifier,
// to be set as publisher.OutboxConfig.Notifier. It never blocks.
func (f *Forwarder) Notify(sqlTopic string) {
	for i, t := range f.topics {
		if t == sqlTopic {
			wakeOne(f.wake[i])
			return
		}
	}
	f.Wake()
}

func wakeOne(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

var _ publisher.Notifier = (*Forwarder)(nil)

// Healthy returns nil while Run is active and the last checks of the
// database and of Kafka succeeded, otherwise the reason.
func (f *Forwarder) Healthy() error {
	if !f.running.Load() {
		return ErrNotRunning
	}
	if err := f.dbLink.state(); err != nil {
		return fmt.Errorf("forwarder: database: %w", err)
	}
	if err := f.kafkaLink.state(); err != nil {
		return fmt.Errorf("forwarder: kafka: %w", err)
	}
	return nil
}

// initSchema creates every shard's tables and the dead-letter table.
func (f *Forwarder) initSchema(ctx context.Context) error {
	if err := publisher.Migrate(ctx, f.cfg.DB, f.cfg.Dialect, f.topics...); err != nil {
		return fmt.Errorf("forwarder: create tables: %w", err)
	}
	return nil
}

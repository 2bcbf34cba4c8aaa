package publisher

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/watermill-outbox/watermill-outbox/config"
)

// ErrInvalidKafkaConfig is wrapped by every error SaramaConfig returns for a
// setting it cannot turn into a sarama configuration.
var ErrInvalidKafkaConfig = errors.New("publisher: invalid kafka config")

// metadataRetryMax and metadataRetryBackoff bound how often a failed metadata
// request is repeated, so a client never keeps retrying an unreachable
// cluster for minutes at start.
const (
	metadataRetryMax     = 2
	metadataRetryBackoff = 250 * time.Millisecond
)

// SaramaConfig turns the project's Kafka settings into a sarama
// configuration for producers, consumers and admin clients. Zero values in
// cfg fall back to the defaults of config.Default. Every setting that cannot
// be used is reported at once, each naming the field, wrapped in
// ErrInvalidKafkaConfig.
//
// Beyond cfg it fixes what this project relies on: successes and errors are
// returned to the caller (a synchronous producer needs both), the hash
// partitioner sends every key to one partition, and metadata requests are
// bounded by DialTimeout so that start-up against an unreachable cluster
// fails instead of hanging.
func SaramaConfig(cfg config.Kafka) (*sarama.Config, error) {
	cfg = withKafkaDefaults(cfg)
	sc := sarama.NewConfig()
	sc.ClientID = cfg.ClientID
	var errs []error
	for _, apply := range []func(*sarama.Config, config.Kafka) error{
		applyVersion, applyProducer, applyTimeouts, applyTLS, applySASL,
	} {
		if err := apply(sc, cfg); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKafkaConfig, errors.Join(errs...))
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKafkaConfig, err)
	}
	return sc, nil
}

// withKafkaDefaults fills the zero values of cfg from config.Default.
func withKafkaDefaults(cfg config.Kafka) config.Kafka {
	def := config.Default().Kafka
	if len(cfg.Brokers) == 0 {
		cfg.Brokers = def.Brokers
	}
	if cfg.ClientID == "" {
		cfg.ClientID = def.ClientID
	}
	if cfg.Version == "" {
		cfg.Version = def.Version
	}
	if cfg.RequiredAcks == "" {
		cfg.RequiredAcks = def.RequiredAcks
	}
	if cfg.Compression == "" {
		cfg.Compression = def.Compression
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = def.MaxMessageBytes
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = def.DialTimeout
	}
	return cfg
}

func applyVersion(sc *sarama.Config, cfg config.Kafka) error {
	v, err := sarama.ParseKafkaVersion(cfg.Version)
	if err != nil {
		return fmt.Errorf("version %q: %w", cfg.Version, err)
	}
	sc.Version = v
	return nil
}

func applyProducer(sc *sarama.Config, cfg config.Kafka) error {
	var errs []error
	acks, err := parseAcks(cfg.RequiredAcks)
	errs = append(errs, err)
	codec, err := parseCompression(cfg.Compression)
	errs = append(errs, err)
	sc.Producer.RequiredAcks = acks
	sc.Producer.Compression = codec
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.Partitioner = sarama.NewHashPartitioner
	sc.Producer.MaxMessageBytes = cfg.MaxMessageBytes
	sc.Producer.Retry.Max = cfg.RetryMax
	sc.Producer.Retry.Backoff = cfg.RetryBackoff
	if cfg.MaxMessageBytes < 0 {
		errs = append(errs, fmt.Errorf("max_message_bytes %d: must be > 0", cfg.MaxMessageBytes))
	}
	if cfg.RetryMax < 0 || cfg.RetryBackoff < 0 {
		errs = append(errs, fmt.Errorf("retry_max %d, retry_backoff %s: must not be negative",
			cfg.RetryMax, cfg.RetryBackoff))
	}
	if cfg.Idempotent {
		errs = append(errs, applyIdempotent(sc, cfg))
	}
	return errors.Join(errs...)
}

// applyIdempotent turns on the idempotent producer, which needs every
// replica's acknowledgement, at least one retry and one request in flight
// per connection (so retries cannot reorder a partition).
func applyIdempotent(sc *sarama.Config, cfg config.Kafka) error {
	sc.Producer.Idempotent = true
	sc.Net.MaxOpenRequests = 1
	var errs []error
	if sc.Producer.RequiredAcks != sarama.WaitForAll {
		errs = append(errs, fmt.Errorf("idempotent: needs required_acks \"all\", not %q",
			cfg.RequiredAcks))
	}
	if cfg.RetryMax < 1 {
		errs = append(errs, fmt.Errorf("idempotent: needs retry_max >= 1, not %d", cfg.RetryMax))
	}
	return errors.Join(errs...)
}

func parseAcks(s string) (sarama.RequiredAcks, error) {
	switch strings.ToLower(s) {
	case "all", "-1":
		return sarama.WaitForAll, nil
	case "leader", "1":
		return sarama.WaitForLocal, nil
	case "none", "0":
		return sarama.NoResponse, nil
	}
	return 0, fmt.Errorf("required_acks %q: want all, leader or none", s)
}

func parseCompression(s string) (sarama.CompressionCodec, error) {
	switch strings.ToLower(s) {
	case "none":
		return sarama.CompressionNone, nil
	case "gzip":
		return sarama.CompressionGZIP, nil
	case "snappy":
		return sarama.CompressionSnappy, nil
	case "lz4":
		return sarama.CompressionLZ4, nil
	case "zstd":
		return sarama.CompressionZSTD, nil
	}
	return 0, fmt.Errorf("compression %q: want none, gzip, snappy, lz4 or zstd", s)
}

// applyTimeouts bounds every network wait by DialTimeout. A read may take
// longer than a dial because a produce request with acks=all waits up to
// Producer.Timeout on the broker, so the read deadline leaves room for it.
func applyTimeouts(sc *sarama.Config, cfg config.Kafka) error {
	if cfg.DialTimeout < 0 {
		return fmt.Errorf("dial_timeout %s: must be > 0", cfg.DialTimeout)
	}
	sc.Net.DialTimeout = cfg.DialTimeout
	sc.Net.WriteTimeout = cfg.DialTimeout
	sc.Net.ReadTimeout = sc.Producer.Timeout + cfg.DialTimeout
	sc.Metadata.Retry.Max = metadataRetryMax
	sc.Metadata.Retry.Backoff = metadataRetryBackoff
	sc.Metadata.Timeout = cfg.DialTimeout
	return nil
}

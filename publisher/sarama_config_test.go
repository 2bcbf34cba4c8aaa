package publisher_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

func TestSaramaConfigDefaults(t *testing.T) {
	sc, err := publisher.SaramaConfig(config.Default().Kafka)
	if err != nil {
		t.Fatalf("SaramaConfig(default): %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"version", sc.Version, sarama.V3_6_0_0},
		{"client id", sc.ClientID, "watermill-outbox"},
		{"acks", sc.Producer.RequiredAcks, sarama.WaitForAll},
		{"idempotent", sc.Producer.Idempotent, true},
		{"max open requests", sc.Net.MaxOpenRequests, 1},
		{"retry max", sc.Producer.Retry.Max, 5},
		{"retry backoff", sc.Producer.Retry.Backoff, 100 * time.Millisecond},
		{"compression", sc.Producer.Compression, sarama.CompressionNone},
		{"max message bytes", sc.Producer.MaxMessageBytes, 1000000},
		{"return successes", sc.Producer.Return.Successes, true},
		{"dial timeout", sc.Net.DialTimeout, 10 * time.Second},
		{"write timeout", sc.Net.WriteTimeout, 10 * time.Second},
		{"metadata timeout", sc.Metadata.Timeout, 10 * time.Second},
		{"tls", sc.Net.TLS.Enable, false},
		{"sasl", sc.Net.SASL.Enable, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if sc.Net.ReadTimeout <= sc.Producer.Timeout || sc.Net.ReadTimeout > time.Minute {
		t.Errorf("read timeout %s: want above the produce timeout %s and at most 1m",
			sc.Net.ReadTimeout, sc.Producer.Timeout)
	}
	if sc.Metadata.Retry.Max > 3 {
		t.Errorf("metadata retries %d: want a small bound", sc.Metadata.Retry.Max)
	}
}

func TestSaramaConfigZeroValuesGetDefaults(t *testing.T) {
	sc, err := publisher.SaramaConfig(config.Kafka{RetryMax: 1})
	if err != nil {
		t.Fatalf("SaramaConfig(zero): %v", err)
	}
	if sc.Version != sarama.V3_6_0_0 || sc.Producer.RequiredAcks != sarama.WaitForAll ||
		sc.Net.DialTimeout != 10*time.Second {
		t.Errorf("zero config: version %s, acks %d, dial %s; want the defaults",
			sc.Version, sc.Producer.RequiredAcks, sc.Net.DialTimeout)
	}
}

func TestSaramaConfigSettings(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*config.Kafka)
		check func(*sarama.Config) bool
	}{
		{"version", func(k *config.Kafka) { k.Version = "2.8.0" },
			func(s *sarama.Config) bool { return s.Version == sarama.V2_8_0_0 }},
		{"client id", func(k *config.Kafka) { k.ClientID = "svc-a" },
			func(s *sarama.Config) bool { return s.ClientID == "svc-a" }},
		{"acks leader", notIdempotent("leader"),
			func(s *sarama.Config) bool { return s.Producer.RequiredAcks == sarama.WaitForLocal }},
		{"acks none", notIdempotent("none"),
			func(s *sarama.Config) bool { return s.Producer.RequiredAcks == sarama.NoResponse }},
		{"not idempotent", notIdempotent("all"), func(s *sarama.Config) bool {
			return !s.Producer.Idempotent && s.Net.MaxOpenRequests == 5
		}},
		{"gzip", compression("gzip"), codecIs(sarama.CompressionGZIP)},
		{"snappy", compression("snappy"), codecIs(sarama.CompressionSnappy)},
		{"lz4", compression("lz4"), codecIs(sarama.CompressionLZ4)},
		{"zstd", compression("zstd"), codecIs(sarama.CompressionZSTD)},
		{"max message bytes", func(k *config.Kafka) { k.MaxMessageBytes = 2048 },
			func(s *sarama.Config) bool { return s.Producer.MaxMessageBytes == 2048 }},
		{"retries", func(k *config.Kafka) { k.RetryMax, k.RetryBackoff = 9, time.Second },
			func(s *sarama.Config) bool {
				return s.Producer.Retry.Max == 9 && s.Producer.Retry.Backoff == time.Second
			}},
		{"dial timeout", func(k *config.Kafka) { k.DialTimeout = 2 * time.Second },
			func(s *sarama.Config) bool {
				return s.Net.DialTimeout == 2*time.Second && s.Metadata.Timeout == 2*time.Second &&
					s.Net.WriteTimeout == 2*time.Second
			}},
		{"hash partitioner", func(*config.Kafka) {}, samePartitionForKey},
		{"sasl plain", sasl("PLAIN"), func(s *sarama.Config) bool {
			return s.Net.SASL.Enable && s.Net.SASL.Mechanism == sarama.SASLTypePlaintext &&
				s.Net.SASL.User == "u" && s.Net.SASL.Password == "p"
		}},
		{"sasl scram 256", sasl("SCRAM-SHA-256"), scramWorks(sarama.SASLTypeSCRAMSHA256)},
		{"sasl scram 512", sasl("scram-sha-512"), scramWorks(sarama.SASLTypeSCRAMSHA512)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Default().Kafka
			c.edit(&cfg)
			sc, err := publisher.SaramaConfig(cfg)
			if err != nil {
				t.Fatalf("SaramaConfig: %v", err)
			}
			if !c.check(sc) {
				t.Errorf("setting not applied: %+v", sc)
			}
		})
	}
}

func notIdempotent(acks string) func(*config.Kafka) {
	return func(k *config.Kafka) { k.Idempotent, k.RequiredAcks = false, acks }
}

func compression(codec string) func(*config.Kafka) {
	return func(k *config.Kafka) { k.Compression = codec }
}

func codecIs(c sarama.CompressionCodec) func(*sarama.Config) bool {
	return func(s *sarama.Config) bool { return s.Producer.Compression == c }
}

func sasl(mech string) func(*config.Kafka) {
	return func(k *config.Kafka) {
		k.SASL = config.SASL{Mechanism: mech, User: "u", Password: "p"}
	}
}

func scramWorks(mech sarama.SASLMechanism) func(*sarama.Config) bool {
	return func(s *sarama.Config) bool {
		if !s.Net.SASL.Enable || s.Net.SASL.Mechanism != mech ||
			s.Net.SASL.SCRAMClientGeneratorFunc == nil {
			return false
		}
		c := s.Net.SASL.SCRAMClientGeneratorFunc()
		if err := c.Begin("u", "p", ""); err != nil {
			return false
		}
		first, err := c.Step("")
		return err == nil && strings.HasPrefix(first, "n,,n=u,r=") && !c.Done()
	}
}

func samePartitionForKey(s *sarama.Config) bool {
	p := s.Producer.Partitioner("t")
	want := int32(-1)
	for range 20 {
		got, err := p.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder("k")}, 12)
		if err != nil || (want >= 0 && got != want) {
			return false
		}
		want = got
	}
	return p.RequiresConsistency()
}

func TestSaramaConfigRejects(t *testing.T) {
	cases := []struct {
		name string
		edit func(*config.Kafka)
		want []string
	}{
		{"version", func(k *config.Kafka) { k.Version = "three" }, []string{`version "three"`}},
		{"acks", func(k *config.Kafka) { k.RequiredAcks = "most" },
			[]string{`required_acks "most"`}},
		{"compression", func(k *config.Kafka) { k.Compression = "brotli" },
			[]string{`compression "brotli"`}},
		{"idempotent without acks all", func(k *config.Kafka) { k.RequiredAcks = "leader" },
			[]string{"idempotent", `"leader"`}},
		{"idempotent without retries", func(k *config.Kafka) { k.RetryMax = 0 },
			[]string{"idempotent", "retry_max"}},
		{"sasl mechanism", func(k *config.Kafka) {
			k.SASL = config.SASL{Mechanism: "GSSAPI", User: "u"}
		}, []string{`sasl mechanism "GSSAPI"`}},
		{"sasl user", func(k *config.Kafka) { k.SASL = config.SASL{Mechanism: "PLAIN"} },
			[]string{"user is empty"}},
		{"every problem at once", func(k *config.Kafka) {
			k.Version, k.Compression = "x", "y"
		}, []string{`version "x"`, `compression "y"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Default().Kafka
			c.edit(&cfg)
			_, err := publisher.SaramaConfig(cfg)
			if !errors.Is(err, publisher.ErrInvalidKafkaConfig) {
				t.Fatalf("error %v, want ErrInvalidKafkaConfig", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

package forwarder

import (
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

func TestValidateListsEveryProblem(t *testing.T) {
	c := Config{Dialect: "oracle", Topic: "bad topic", Shards: -1, BatchSize: -5,
		PollInterval: -time.Second, BatchTimeout: -time.Second, DeadLetterTopic: "no spaces"}
	c.setDefaults()
	err := c.Validate()
	if !errors.Is(err, ErrInvalidConfig) || !errors.Is(err, publisher.ErrInvalidTopic) {
		t.Fatalf("Validate() = %v, want ErrInvalidConfig and publisher.ErrInvalidTopic", err)
	}
	for _, want := range []string{"db is nil", `dialect "oracle"`, "topic", "shards -1",
		"brokers are empty", "batch size -5", "poll interval -1s", "batch timeout -1s",
		"dead letter topic"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() does not mention %q: %v", want, err)
		}
	}
}

func TestDefaultsAreValid(t *testing.T) {
	c := Config{DB: &sql.DB{}, Dialect: DialectPostgres, Brokers: []string{"localhost:9092"}}
	c.setDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c.Topic != "outbox" || c.Shards != 1 || c.BatchSize != 500 ||
		c.PollInterval != time.Second || c.PartitionKeyMetadata != "partition_key" || c.Mode != ModeBatch {
		t.Errorf("unexpected defaults %+v", c)
	}
}

func TestConfigFromProjectConfig(t *testing.T) {
	pc := config.Default()
	pc.Outbox.Shards, pc.Outbox.BatchSize = 4, 123
	c, err := ConfigFrom(pc, &sql.DB{})
	if err != nil {
		t.Fatal(err)
	}
	c.setDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("config from defaults: %v", err)
	}
	if c.Shards != 4 || c.BatchSize != 123 || c.Retention != 168*time.Hour ||
		!c.Kafka.Producer.Idempotent || c.Kafka.Net.MaxOpenRequests != 1 {
		t.Errorf("unexpected config %+v", c)
	}
}

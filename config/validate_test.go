package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// validConfig is Default with the one option Default leaves empty.
func validConfig() Config {
	c := Default()
	c.SQL.DSN = "postgres://postgres@127.0.0.1:5432/test"
	return c
}

func TestDefaultValidatesOnceDSNIsSet(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	err := Default().Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != "sql.dsn" {
		t.Fatalf("Default().Validate() = %v, want only sql.dsn", err)
	}
}

func TestValidateRejectsBadInput(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	cases := []struct {
		name   string
		mutate func(*Config)
		field  string
		value  string
	}{
		{"no brokers", func(c *Config) { c.Kafka.Brokers = nil }, "kafka.brokers", ""},
		{"broker without port", func(c *Config) { c.Kafka.Brokers = []string{"k1:9092", "k2"} },
			"kafka.brokers[1]", "k2"},
		{"broker bad port", func(c *Config) { c.Kafka.Brokers = []string{"k1:http"} },
			"kafka.brokers[0]", "k1:http"},
		{"broker without host", func(c *Config) { c.Kafka.Brokers = []string{":9092"} },
			"kafka.brokers[0]", ":9092"},
		{"empty client id", func(c *Config) { c.Kafka.ClientID = "" }, "kafka.client_id", ""},
		{"version garbage", func(c *Config) { c.Kafka.Version = "latest" },
			"kafka.version", "latest"},
		{"version too old", func(c *Config) { c.Kafka.Version = "0.11.0" },
			"kafka.version", "0.11.0"},
		{"version 0.x form", func(c *Config) { c.Kafka.Version = "0.10.2.1" }, "kafka.version",
			"0.10.2.1"},
		{"acks unknown", func(c *Config) {
			c.Kafka.RequiredAcks = "most"
			c.Kafka.Idempotent = false
		},
			"kafka.required_acks", "most"},
		{"idempotent without all", func(c *Config) { c.Kafka.RequiredAcks = "leader" },
			"kafka.idempotent", "true"},
		{"compression unknown", func(c *Config) { c.Kafka.Compression = "brotli" },
			"kafka.compression", "brotli"},
		{"max message bytes zero", func(c *Config) { c.Kafka.MaxMessageBytes = 0 },
			"kafka.max_message_bytes", "0"},
		{"retry max negative", func(c *Config) { c.Kafka.RetryMax = -1 }, "kafka.retry_max", "-1"},
		{"retry backoff negative", func(c *Config) { c.Kafka.RetryBackoff = -time.Second },
			"kafka.retry_backoff", "-1s"},
		{"dial timeout zero", func(c *Config) { c.Kafka.DialTimeout = 0 },
			"kafka.dial_timeout", "0s"},
		{"tls ca missing", func(c *Config) { c.Kafka.TLS = TLS{Enabled: true, CAFile: missing} },
			"kafka.tls.ca_file", missing},
		{"tls cert without key", func(c *Config) { c.Kafka.TLS.CertFile = "c.pem" },
			"kafka.tls.key_file", ""},
		{"tls key without cert", func(c *Config) { c.Kafka.TLS.KeyFile = "k.pem" },
			"kafka.tls.cert_file", ""},
		{"tls file is a directory", func(c *Config) {
			c.Kafka.TLS = TLS{Enabled: true, CAFile: os.TempDir()}
		}, "kafka.tls.ca_file", os.TempDir()},
		{"sasl mechanism unknown", func(c *Config) {
			c.Kafka.SASL = SASL{Mechanism: "GSSAPI", User: "u", Password: "p"}
		}, "kafka.sasl.mechanism", "GSSAPI"},
		{"sasl without user", func(c *Config) {
			c.Kafka.SASL = SASL{Mechanism: "PLAIN", Password: "p"}
		},
			"kafka.sasl.user", ""},
		{"sasl without password", func(c *Config) {
			c.Kafka.SASL = SASL{Mechanism: "PLAIN", User: "u"}
		},
			"kafka.sasl.password", ""},
		{"sasl credentials without mechanism", func(c *Config) { c.Kafka.SASL.User = "u" },
			"kafka.sasl.mechanism", ""},
		{"dialect unknown", func(c *Config) { c.SQL.Dialect = "oracle" }, "sql.dialect", "oracle"},
		{"mysql dsn as url", func(c *Config) {
			c.SQL.Dialect, c.SQL.DSN = "mysql", "mysql://root:pw@127.0.0.1:3306/test"
		}, "sql.dsn", ""},
		{"dsn empty", func(c *Config) { c.SQL.DSN = "" }, "sql.dsn", ""},
		{"max open negative", func(c *Config) { c.SQL.MaxOpenConns = -2 },
			"sql.max_open_conns", "-2"},
		{"max idle negative", func(c *Config) { c.SQL.MaxIdleConns = -1 },
			"sql.max_idle_conns", "-1"},
		{"max idle above max open", func(c *Config) {
			c.SQL.MaxOpenConns, c.SQL.MaxIdleConns = 2, 3
		},
			"sql.max_idle_conns", "3"},
		{"conn lifetime negative", func(c *Config) { c.SQL.ConnMaxLifetime = -time.Minute },
			"sql.conn_max_lifetime", "-1m0s"},
		{"outbox topic empty", func(c *Config) { c.Outbox.Topic = "" }, "outbox.topic", ""},
		{"outbox topic bad chars", func(c *Config) { c.Outbox.Topic = "orders; drop table" },
			"outbox.topic", "orders; drop table"},
		{"outbox topic too long", func(c *Config) { c.Outbox.Topic = strings.Repeat("t", 250) },
			"outbox.topic", strings.Repeat("t", 250)},
		{"dead letter topic bad", func(c *Config) { c.Outbox.DeadLetterTopic = "dead/letter" },
			"outbox.dead_letter_topic", "dead/letter"},
		{"shards zero", func(c *Config) { c.Outbox.Shards = 0 }, "outbox.shards", "0"},
		{"forwarder group empty", func(c *Config) { c.Outbox.ConsumerGroup = "" },
			"outbox.consumer_group", ""},
		{"batch size zero", func(c *Config) { c.Outbox.BatchSize = 0 }, "outbox.batch_size", "0"},
		{"backoff initial above max", func(c *Config) { c.Outbox.BackoffInitial = time.Minute },
			"outbox.backoff_initial", "1m0s"},
		{"poll interval negative", func(c *Config) { c.Outbox.PollInterval = -1 },
			"outbox.poll_interval", "-1ns"},
		{"retention batch zero", func(c *Config) { c.Outbox.RetentionBatch = 0 },
			"outbox.retention_batch", "0"},
		{"inbox table bad", func(c *Config) { c.Inbox.Table = "inbox-table" },
			"inbox.table", "inbox-table"},
		{"inbox max attempts zero", func(c *Config) { c.Inbox.MaxAttempts = 0 },
			"inbox.max_attempts", "0"},
		{"inbox retry initial above max", func(c *Config) { c.Inbox.RetryInitial = time.Hour },
			"inbox.retry_initial", "1h0m0s"},
		{"poison topic empty", func(c *Config) { c.Inbox.PoisonTopic = "" },
			"inbox.poison_topic", ""},
		{"poison topic bad", func(c *Config) { c.Inbox.PoisonTopic = "poison topic" },
			"inbox.poison_topic", "poison topic"},
		{"dedup window negative", func(c *Config) { c.Inbox.DedupWindow = -time.Hour },
			"inbox.dedup_window", "-1h0m0s"},
		{"backend unknown", func(c *Config) { c.Router.Backend = "sqs" }, "router.backend", "sqs"},
		{"router group empty", func(c *Config) { c.Router.ConsumerGroup = "" },
			"router.consumer_group", ""},
		{"amqp url not amqp", func(c *Config) {
			c.Router.Backend, c.Router.AMQPURL = "amqp", "http://x"
		},
			"router.amqp_url", ""},
		{"redis addr bad", func(c *Config) {
			c.Router.Backend, c.Router.RedisAddr = "redis", "redis"
		},
			"router.redis_addr", "redis"},
		{"handler timeout negative", func(c *Config) { c.Router.HandlerTimeout = -time.Second },
			"router.handler_timeout", "-1s"},
		{"log level unknown", func(c *Config) { c.Log.Level = "verbose" }, "log.level", "verbose"},
		{"log format unknown", func(c *Config) { c.Log.Format = "xml" }, "log.format", "xml"},
		{"metrics address bad", func(c *Config) { c.Metrics.Address = "9090" },
			"metrics.address", "9090"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate() = %v, want ErrInvalid", err)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %T, want *ValidationError", err)
			}
			fe, ok := ve.Field(tc.field)
			if !ok {
				t.Fatalf("no problem reported for %s in %v", tc.field, err)
			}
			if fe.Value != tc.value {
				t.Errorf("value = %q, want %q", fe.Value, tc.value)
			}
			if !strings.Contains(err.Error(), tc.field) ||
				tc.value != "" && !strings.Contains(err.Error(), tc.value) {
				t.Errorf("message %q does not name %s and %q", err, tc.field, tc.value)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := validConfig()
	c.Kafka.RequiredAcks = "most"
	c.Kafka.Brokers = []string{"nohost"}
	c.SQL.DSN = ""
	c.Outbox.Shards = 0
	c.Inbox.MaxAttempts = -1
	c.Log.Format = "xml"
	c.Metrics.Address = "bad"
	var ve *ValidationError
	if !errors.As(c.Validate(), &ve) {
		t.Fatal("no ValidationError")
	}
	want := []string{"kafka.brokers[0]", "kafka.required_acks", "kafka.idempotent", "sql.dsn",
		"outbox.shards", "inbox.max_attempts", "log.format", "metrics.address"}
	var got []string
	for _, p := range ve.Problems {
		got = append(got, p.Field)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("fields = %v, want %v", got, want)
	}
	var fe FieldError
	if !errors.As(error(ve), &fe) || fe.Field != "kafka.brokers[0]" {
		t.Errorf("errors.As FieldError = %+v", fe)
	}
}

func TestValidateNeverShowsSecrets(t *testing.T) {
	c := secretConfig()
	c.Kafka.SASL.Mechanism = "NOPE"
	c.Router.Backend = "amqp"
	c.Router.AMQPURL = Secret("http://u:" + amqpPassword + "@x/")
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	assertNoSecret(t, "Validate error", err.Error())
	_, err = Load("", []string{"OUTBOX_SQL_DSN=" + dsnPassword, "OUTBOX_SQL_MAX_OPEN_CONNS=x"})
	if err == nil {
		t.Fatal("no error")
	}
	assertNoSecret(t, "Load error", err.Error())
}

func TestSectionValidate(t *testing.T) {
	c := Default() // no DSN: a Kafka-only program must still validate
	sections := map[string]func() error{
		"kafka": c.Kafka.Validate, "outbox": c.Outbox.Validate, "inbox": c.Inbox.Validate,
		"router": c.Router.Validate, "log": c.Log.Validate, "metrics": c.Metrics.Validate,
	}
	for name, validate := range sections {
		if err := validate(); err != nil {
			t.Errorf("%s.Validate() = %v", name, err)
		}
	}
	var ve *ValidationError
	if err := c.SQL.Validate(); !errors.As(err, &ve) || ve.Problems[0].Field != "sql.dsn" {
		t.Errorf("SQL.Validate() = %v, want sql.dsn", err)
	}
	c.Kafka.TLS.CertFile = "c.pem"
	err := c.Kafka.Validate()
	if !errors.As(err, &ve) || ve.Problems[0].Field != "kafka.tls.key_file" {
		t.Errorf("Kafka.Validate() = %v, want kafka.tls.key_file", err)
	}
}

func TestValidateTLSFilesPresent(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"ca.pem", "cert.pem", "key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	k := Default().Kafka
	k.TLS = TLS{Enabled: true, CAFile: filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	if err := k.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	k.TLS.Enabled = false
	k.TLS.CAFile = filepath.Join(dir, "absent.pem")
	if err := k.Validate(); err != nil {
		t.Errorf("files are not checked with TLS off, got %v", err)
	}
}

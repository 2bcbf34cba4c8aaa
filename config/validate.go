package config

import (
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
)

// This file holds Validate for the whole Config and for each section. Every
// check runs, so one call reports every problem; a section checked on its
// own names its fields by their full YAML path all the same.

// Validate checks every section and returns a *ValidationError (matching
// ErrInvalid) listing every problem, or nil. It requires sql.dsn; a program
// that uses only some sections can call their own Validate methods.
func (c Config) Validate() error {
	var p problems
	c.Kafka.check(&p, "kafka")
	c.SQL.check(&p, "sql")
	c.Outbox.check(&p, "outbox")
	c.Inbox.check(&p, "inbox")
	c.Router.check(&p, "router")
	c.Log.check(&p, "log")
	c.Metrics.check(&p, "metrics")
	return p.err()
}

// Validate checks the Kafka section, TLS and SASL included, the same way
// Config.Validate does.
func (k Kafka) Validate() error { return validateSection(k.check, "kafka") }

// Validate checks the SQL section, including that DSN is set.
func (s SQL) Validate() error { return validateSection(s.check, "sql") }

// Validate checks the Outbox section.
func (o Outbox) Validate() error { return validateSection(o.check, "outbox") }

// Validate checks the Inbox section.
func (i Inbox) Validate() error { return validateSection(i.check, "inbox") }

// Validate checks the Router section.
func (r Router) Validate() error { return validateSection(r.check, "router") }

// Validate checks the Log section.
func (l Log) Validate() error { return validateSection(l.check, "log") }

// Validate checks the Metrics section.
func (m Metrics) Validate() error { return validateSection(m.check, "metrics") }

func validateSection(check func(*problems, string), prefix string) error {
	var p problems
	check(&p, prefix)
	return p.err()
}

func (k Kafka) check(p *problems, prefix string) {
	checkDurations(p, prefix, k)
	if len(k.Brokers) == 0 {
		p.add(prefix+".brokers", "", "must list at least one broker")
	}
	for i, b := range k.Brokers {
		checkHostPort(p, indexed(prefix+".brokers", i), b, true)
	}
	notEmpty(p, prefix+".client_id", k.ClientID)
	checkKafkaVersion(p, prefix+".version", k.Version)
	oneOf(p, prefix+".required_acks", k.RequiredAcks, "all", "leader", "none")
	if k.Idempotent && k.RequiredAcks != "all" {
		p.add(prefix+".idempotent", k.Idempotent, "needs "+prefix+".required_acks all")
	}
	oneOf(p, prefix+".compression", k.Compression, "none", "gzip", "snappy", "lz4", "zstd")
	positive(p, prefix+".max_message_bytes", k.MaxMessageBytes)
	notNegative(p, prefix+".retry_max", k.RetryMax)
	if k.DialTimeout == 0 {
		p.add(prefix+".dial_timeout", k.DialTimeout, "must be positive")
	}
	k.TLS.check(p, prefix+".tls")
	k.SASL.check(p, prefix+".sasl")
}

func (t TLS) check(p *problems, prefix string) {
	if t.CertFile != "" && t.KeyFile == "" {
		p.add(prefix+".key_file", "", "must be set when cert_file is set")
	}
	if t.KeyFile != "" && t.CertFile == "" {
		p.add(prefix+".cert_file", "", "must be set when key_file is set")
	}
	if !t.Enabled {
		return
	}
	checkFile(p, prefix+".ca_file", t.CAFile)
	checkFile(p, prefix+".cert_file", t.CertFile)
	checkFile(p, prefix+".key_file", t.KeyFile)
}

func (s SASL) check(p *problems, prefix string) {
	if s.Mechanism == "" {
		if s.User != "" || s.Password != "" {
			p.add(prefix+".mechanism", "", "must be set when user or password is set")
		}
		return
	}
	oneOf(p, prefix+".mechanism", s.Mechanism, "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
	if s.User == "" {
		p.add(prefix+".user", "", "must be set when mechanism is set")
	}
	if s.Password == "" {
		p.add(prefix+".password", "", "must be set when mechanism is set")
	}
}

func (s SQL) check(p *problems, prefix string) {
	checkDurations(p, prefix, s)
	oneOf(p, prefix+".dialect", s.Dialect, "postgres", "mysql", "sqlite")
	switch {
	case s.DSN == "":
		p.add(prefix+".dsn", "", "must not be empty")
	case s.Dialect == "mysql" && strings.Contains(s.DSN.Reveal(), "://"):
		p.add(prefix+".dsn", "", "must be in the MySQL driver form user:password@tcp(host:port)/db, "+
			"not a URL")
	}
	notNegative(p, prefix+".max_open_conns", s.MaxOpenConns)
	notNegative(p, prefix+".max_idle_conns", s.MaxIdleConns)
	if s.MaxOpenConns > 0 && s.MaxIdleConns > s.MaxOpenConns {
		p.add(prefix+".max_idle_conns", s.MaxIdleConns, "must not exceed max_open_conns")
	}
}

func (o Outbox) check(p *problems, prefix string) {
	checkDurations(p, prefix, o)
	checkTopic(p, prefix+".topic", o.Topic)
	if o.Shards < 1 {
		p.add(prefix+".shards", o.Shards, "must be at least 1")
	}
	notEmpty(p, prefix+".consumer_group", o.ConsumerGroup)
	if o.BatchSize < 1 {
		p.add(prefix+".batch_size", o.BatchSize, "must be at least 1")
	}
	if o.BackoffInitial > o.BackoffMax {
		p.add(prefix+".backoff_initial", o.BackoffInitial, "must not exceed backoff_max")
	}
	if o.Retention > 0 && o.RetentionBatch < 1 {
		p.add(prefix+".retention_batch", o.RetentionBatch, "must be at least 1")
	}
	checkTopic(p, prefix+".dead_letter_topic", o.DeadLetterTopic)
}

func (i Inbox) check(p *problems, prefix string) {
	checkDurations(p, prefix, i)
	checkTable(p, prefix+".table", i.Table)
	if i.MaxAttempts < 1 {
		p.add(prefix+".max_attempts", i.MaxAttempts, "must be at least 1")
	}
	if i.RetryInitial > i.RetryMax {
		p.add(prefix+".retry_initial", i.RetryInitial, "must not exceed retry_max")
	}
	checkTopic(p, prefix+".poison_topic", i.PoisonTopic)
}

func (r Router) check(p *problems, prefix string) {
	checkDurations(p, prefix, r)
	oneOf(p, prefix+".backend", r.Backend, "kafka", "sql", "gochannel", "amqp", "nats", "redis")
	notEmpty(p, prefix+".consumer_group", r.ConsumerGroup)
	switch r.Backend {
	case "amqp":
		u := r.AMQPURL.Reveal()
		if !strings.HasPrefix(u, "amqp://") && !strings.HasPrefix(u, "amqps://") {
			p.add(prefix+".amqp_url", "", "must be an amqp:// or amqps:// URL for backend amqp")
		}
	case "nats":
		notEmpty(p, prefix+".nats_url", r.NATSURL)
	case "redis":
		checkHostPort(p, prefix+".redis_addr", r.RedisAddr, true)
	}
}

func (l Log) check(p *problems, prefix string) {
	oneOf(p, prefix+".level", l.Level, "trace", "debug", "info", "warn", "error")
	oneOf(p, prefix+".format", l.Format, "text", "json")
}

func (m Metrics) check(p *problems, prefix string) {
	if m.Address != "" {
		checkHostPort(p, prefix+".address", m.Address, false)
	}
}

// checkFile reports a path that is set but names no readable regular file.
func checkFile(p *problems, field, path string) {
	if path == "" {
		return
	}
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.add(field, path, "file does not exist")
	case err != nil:
		p.add(field, path, "file cannot be read: "+err.Error())
	case !info.Mode().IsRegular():
		p.add(field, path, "is not a regular file")
	}
}

// checkDurations reports every negative time.Duration field of a section.
func checkDurations(p *problems, prefix string, section any) {
	v := reflect.ValueOf(section)
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if f.Type != durationType || v.Field(i).Int() >= 0 {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		p.add(prefix+"."+name, v.Field(i).Interface(), "must not be negative")
	}
}

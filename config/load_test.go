package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outbox.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const sampleYAML = `
kafka:
  brokers: [k1:9092, k2:9092]
  client_id: from-file
  retry_backoff: 250ms
  tls:
    server_name: kafka.internal
sql:
  dialect: mysql
  dsn: "root:pw@tcp(127.0.0.1:3306)/test"
outbox:
  shards: 4
  poll_interval: 5s
log:
  level: debug
`

func TestLoadDefaultsOnly(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("Load with no file and no env = %+v, want Default()", cfg)
	}
}

func TestLoadFileThenEnvPrecedence(t *testing.T) {
	path := writeFile(t, sampleYAML)
	env := []string{
		"OUTBOX_KAFKA_CLIENT_ID=from-env",
		"OUTBOX_KAFKA_BROKERS= e1:9092 , e2:9092,",
		"OUTBOX_OUTBOX_POLL_INTERVAL=2s",
		"OUTBOX_KAFKA_IDEMPOTENT=false",
		"OUTBOX_METRICS_ADDRESS=",
		"UNRELATED=1",
	}
	cfg, err := Load(path, env)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"env over file", cfg.Kafka.ClientID, "from-env"},
		{"env list over file", cfg.Kafka.Brokers, []string{"e1:9092", "e2:9092"}},
		{"env duration over file", cfg.Outbox.PollInterval, 2 * time.Second},
		{"env bool over default", cfg.Kafka.Idempotent, false},
		{"empty env value clears", cfg.Metrics.Address, ""},
		{"file over default", cfg.Kafka.RetryBackoff, 250 * time.Millisecond},
		{"file nested", cfg.Kafka.TLS.ServerName, "kafka.internal"},
		{"file int", cfg.Outbox.Shards, 4},
		{"file secret", cfg.SQL.DSN.Reveal(), "root:pw@tcp(127.0.0.1:3306)/test"},
		{"default kept in touched section", cfg.Kafka.RequiredAcks, "all"},
		{"default kept in untouched section", cfg.Inbox.MaxAttempts, 5},
		{"file string", cfg.Log.Level, "debug"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestLoadFromEnvReadsConfigFile(t *testing.T) {
	t.Setenv(EnvConfigFile, writeFile(t, "log:\n  format: json\n"))
	t.Setenv("OUTBOX_LOG_LEVEL", "warn")
	cfg, err := LoadFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Log.Format != "json" || cfg.Log.Level != "warn" {
		t.Errorf("Log = %+v, want json from file and warn from env", cfg.Log)
	}
}

func TestLoadRejectsUnknownYAMLKey(t *testing.T) {
	path := writeFile(t, "kafka:\n  tls:\n    ca_flie: x.pem\nlogging: {}\n")
	_, err := Load(path, nil)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
	for _, want := range []string{"kafka.tls.ca_flie", "line 3", "logging", path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestLoadRejectsBadYAML(t *testing.T) {
	cases := map[string]string{
		"duration as number": "kafka:\n  dial_timeout: 5\n",
		"bad duration":       "kafka:\n  dial_timeout: soon\n",
		"list as string":     "kafka:\n  brokers: k1:9092\n",
		"not yaml":           "kafka: [\n",
	}
	for name, content := range cases {
		_, err := Load(writeFile(t, content), nil)
		if err == nil || !strings.HasPrefix(err.Error(), "config: file ") {
			t.Errorf("%s: err = %v, want a config: file error", name, err)
		}
	}
}

func TestLoadEmptyFileAndMissingFile(t *testing.T) {
	cfg, err := Load(writeFile(t, "# only a comment\n"), nil)
	if err != nil || !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("empty file: cfg changed or err = %v", err)
	}
	_, err = Load(filepath.Join(t.TempDir(), "absent.yaml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want os.ErrNotExist", err)
	}
}

func TestLoadRejectsBadEnvValue(t *testing.T) {
	cases := []struct{ env, name, value string }{
		{"OUTBOX_KAFKA_RETRY_MAX=many", "OUTBOX_KAFKA_RETRY_MAX", `"many"`},
		{"OUTBOX_KAFKA_IDEMPOTENT=yes please", "OUTBOX_KAFKA_IDEMPOTENT", `"yes please"`},
		{"OUTBOX_KAFKA_DIAL_TIMEOUT=10", "OUTBOX_KAFKA_DIAL_TIMEOUT", `"10"`},
		{"OUTBOX_INBOX_MAX_ATTEMPTS=", "OUTBOX_INBOX_MAX_ATTEMPTS", `""`},
	}
	for _, c := range cases {
		_, err := Load("", []string{c.env})
		if err == nil {
			t.Errorf("%s: no error", c.env)
			continue
		}
		if !strings.Contains(err.Error(), c.name+"="+c.value) {
			t.Errorf("%s: error %q does not name the variable and value", c.env, err)
		}
	}
}

// TestEnvSetsEveryOption sets every option through its variable and checks
// that each one arrives, so no field type is left unsupported.
func TestEnvSetsEveryOption(t *testing.T) {
	var env []string
	want := map[string]string{}
	for _, o := range options() {
		raw := sampleRaw(t, o)
		env = append(env, o.Env+"="+raw)
		want[o.Path] = raw
	}
	cfg, err := Load("", env)
	if err != nil {
		t.Fatal(err)
	}
	root := reflect.ValueOf(cfg)
	for _, o := range options() {
		if got := rawOf(root.FieldByIndex(o.Index)); got != want[o.Path] {
			t.Errorf("%s: got %q, want %q", o.Env, got, want[o.Path])
		}
	}
}

func sampleRaw(t *testing.T, o option) string {
	switch {
	case o.Type == durationType:
		return "7m0s"
	case o.Type.Kind() == reflect.String:
		return "v-" + o.Path
	case o.Type.Kind() == reflect.Bool:
		return "true"
	case o.Type.Kind() == reflect.Int:
		return "77"
	case o.Type.Kind() == reflect.Slice:
		return "a:1,b:2"
	}
	t.Fatalf("%s: no sample for type %s", o.Path, o.Type)
	return ""
}

func rawOf(v reflect.Value) string {
	switch {
	case v.Type() == durationType:
		return time.Duration(v.Int()).String()
	case v.Kind() == reflect.String:
		return v.String()
	case v.Kind() == reflect.Slice:
		return strings.Join(v.Interface().([]string), ",")
	}
	return fmt.Sprint(v.Interface())
}

func TestOptionNames(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range options() {
		if seen[o.Env] {
			t.Errorf("two options share %s", o.Env)
		}
		seen[o.Env] = true
	}
	for _, want := range []string{"OUTBOX_KAFKA_BROKERS", "OUTBOX_KAFKA_TLS_CA_FILE",
		"OUTBOX_SQL_DSN", "OUTBOX_LOG_LEVEL", "OUTBOX_KAFKA_SASL_PASSWORD"} {
		if !seen[want] {
			t.Errorf("no option reads %s", want)
		}
	}
}

func TestUnknownEnv(t *testing.T) {
	got := UnknownEnv([]string{"OUTBOX_KAFKA_BROKER=x", "OUTBOX_CONFIG=a", "OUTBOX_LOG_LEVEL=info",
		"HOME=/root"})
	if !reflect.DeepEqual(got, []string{"OUTBOX_KAFKA_BROKER"}) {
		t.Errorf("UnknownEnv = %v", got)
	}
}

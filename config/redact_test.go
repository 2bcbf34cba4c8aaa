package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"gopkg.in/yaml.v3"
)

const (
	dsnPassword  = "dsn-Pa55word"
	saslPassword = "sasl-Pa55word"
	amqpPassword = "amqp-Pa55word"
)

var allSecrets = []string{dsnPassword, saslPassword, amqpPassword}

// secretConfig returns a Config whose every secret holds a distinctive
// password, so a leak shows up as a substring.
func secretConfig() Config {
	c := Default()
	c.SQL.DSN = Secret("postgres://app:" + dsnPassword + "@db.example:5432/orders?sslmode=disable")
	c.Kafka.SASL = SASL{Mechanism: "PLAIN", User: "kafka-user", Password: Secret(saslPassword)}
	c.Router.AMQPURL = Secret("amqp://rabbit:" + amqpPassword + "@mq.example:5672/")
	return c
}

func assertNoSecret(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range allSecrets {
		if strings.Contains(out, s) {
			t.Errorf("%s reveals secret %q: %s", what, s, out)
		}
	}
}

func TestRedactedDSN(t *testing.T) {
	cases := []struct{ dsn, want string }{
		{"", ""},
		{"postgres://u:pw@h:5432/db", "postgres://u:[redacted]@h:5432/db"},
		{"postgres://u:p@ss/w?rd@h/db?sslmode=disable",
			"postgres://u:[redacted]@h/db?sslmode=disable"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgres://h/db?user=u&password=pw&sslmode=off",
			"postgres://h/db?user=u&password=[redacted]&sslmode=off"},
		{"u:pw@tcp(127.0.0.1:3306)/test?parseTime=true",
			"u:[redacted]@tcp(127.0.0.1:3306)/test?parseTime=true"},
		{"u:p@w/x@tcp(h)/db", "u:[redacted]@tcp(h)/db"},
		{"root@tcp(127.0.0.1:3306)/test", "root@tcp(127.0.0.1:3306)/test"},
		{"host=h user=u password=pw dbname=d", "host=h user=u password=[redacted] dbname=d"},
		{"host=h password = 'p w\\'x' sslpassword=k port=5432",
			"host=h password = [redacted] sslpassword=[redacted] port=5432"},
		{"file:test.db?cache=shared", "file:test.db?cache=shared"},
		{":memory:", ":memory:"},
	}
	for _, c := range cases {
		if got := (SQL{DSN: Secret(c.dsn)}).RedactedDSN(); got != c.want {
			t.Errorf("RedactedDSN(%q) = %q, want %q", c.dsn, got, c.want)
		}
	}
}

func TestRedactedAMQPURL(t *testing.T) {
	r := Router{AMQPURL: "amqp://guest:guest@127.0.0.1:5672/"}
	if got, want := r.RedactedAMQPURL(), "amqp://guest:[redacted]@127.0.0.1:5672/"; got != want {
		t.Errorf("RedactedAMQPURL() = %q, want %q", got, want)
	}
}

func TestSecretPrinting(t *testing.T) {
	s := Secret("hunter2")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%10s", "%t"} {
		out := fmt.Sprintf(verb, s)
		if strings.Contains(out, "hunter2") || strings.Contains(out, fmt.Sprintf("%x", "hunter2")) {
			t.Errorf("Sprintf(%s) = %q reveals the secret", verb, out)
		}
	}
	if s.String() != Mask || fmt.Sprint(Secret("")) != "" {
		t.Errorf("String() = %q, empty = %q", s.String(), fmt.Sprint(Secret("")))
	}
	if s.Reveal() != "hunter2" {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
}

func TestConfigPrintingHidesSecrets(t *testing.T) {
	c := secretConfig()
	values := map[string]any{
		"Config": c, "*Config": &c, "SASL": c.Kafka.SASL, "*SASL": &c.Kafka.SASL,
		"struct": struct{ C Config }{c}, "slice": []Config{c}, "map": map[string]SQL{"x": c.SQL},
	}
	root := reflect.ValueOf(&c).Elem()
	for i := 0; i < root.NumField(); i++ {
		name := root.Type().Field(i).Name
		values[name] = root.Field(i).Interface()
		values["*"+name] = root.Field(i).Addr().Interface()
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
			assertNoSecret(t, name+" "+verb, fmt.Sprintf(verb, v))
		}
	}
}

func TestPrintingShowsRedactedConnectionStrings(t *testing.T) {
	c := secretConfig()
	wantDSN := "postgres://app:[redacted]@db.example:5432/orders?sslmode=disable"
	wantAMQP := "amqp://rabbit:[redacted]@mq.example:5672/"
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for name, v := range map[string]any{"Config": c, "*Config": &c, "SQL": c.SQL} {
			if out := fmt.Sprintf(verb, v); !strings.Contains(out, wantDSN) {
				t.Errorf("%s %s does not show the redacted DSN: %s", name, verb, out)
			}
		}
		if out := fmt.Sprintf(verb, c); !strings.Contains(out, wantAMQP) {
			t.Errorf("Config %s does not show the redacted AMQP URL: %s", verb, out)
		}
	}
	wantSASL := "SASL:{Mechanism:PLAIN User:kafka-user Password:[redacted]}"
	if out := c.String(); !strings.Contains(out, wantSASL) {
		t.Errorf("Config.String() = %s", out)
	}
}

// TestSectionStringsListEveryField guards the hand-written String and
// GoString methods of SQL and Router against fields added later.
func TestSectionStringsListEveryField(t *testing.T) {
	c := secretConfig()
	for _, o := range options() {
		section := strings.SplitN(o.Path, ".", 2)[0]
		if section != "sql" && section != "router" {
			continue
		}
		field := typeFieldName(o)
		for _, out := range []string{c.String(), fmt.Sprintf("%#v", c)} {
			if !strings.Contains(out, field+":") {
				t.Errorf("printed Config lacks field %s: %s", field, out)
			}
		}
	}
}

func typeFieldName(o option) string {
	t := reflect.TypeOf(Config{})
	var name string
	for _, i := range o.Index {
		f := t.Field(i)
		name, t = f.Name, f.Type
	}
	return name
}

func TestEncodingHidesSecrets(t *testing.T) {
	c := secretConfig()
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "json", string(js))
	if !strings.Contains(string(js), `"DSN":"[redacted]"`) {
		t.Errorf("json lacks the masked DSN: %s", js)
	}
	ym, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "yaml", string(ym))
	if !strings.Contains(string(ym), "dsn: '[redacted]'") {
		t.Errorf("yaml lacks the masked DSN: %s", ym)
	}
}

func TestLogrusHidesSecrets(t *testing.T) {
	c := secretConfig()
	formatters := map[string]logrus.Formatter{
		"json": &logrus.JSONFormatter{}, "text": &logrus.TextFormatter{DisableColors: true},
	}
	for name, f := range formatters {
		var buf bytes.Buffer
		log := logrus.New()
		log.SetOutput(&buf)
		log.SetFormatter(f)
		log.WithField("config", c).WithField("sql", &c.SQL).WithField("dsn", c.SQL.DSN).
			Infof("loaded %v", c)
		if buf.Len() == 0 {
			t.Fatalf("%s: nothing logged", name)
		}
		assertNoSecret(t, "logrus "+name, buf.String())
	}
}

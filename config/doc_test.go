package config

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

const docPath = "../docs/configuration.md"

// docRow is one option row of the table in docs/configuration.md.
type docRow struct {
	path, env, typ, def string
}

// docRows parses every table row whose first cell is a code span.
func docRows(t *testing.T) map[string]docRow {
	t.Helper()
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("read %s: %v", docPath, err)
	}
	rows := map[string]docRow{}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 5 {
			t.Errorf("%s: row has %d cells, want 5: %s", docPath, len(cells), line)
			continue
		}
		r := docRow{unquote(cells[0]), unquote(cells[1]), cells[2], unquote(cells[3])}
		if _, dup := rows[r.path]; dup {
			t.Errorf("%s: %s documented twice", docPath, r.path)
		}
		rows[r.path] = r
	}
	return rows
}

func unquote(cell string) string {
	cell = strings.TrimSpace(cell)
	if cell == "*(empty)*" {
		return ""
	}
	return strings.Trim(cell, "`")
}

// TestDocListsEveryOption fails naming every field of Config that has no
// row, or a wrong environment variable, in docs/configuration.md, and every
// row that matches no field.
func TestDocListsEveryOption(t *testing.T) {
	rows := docRows(t)
	for _, o := range options() {
		r, ok := rows[o.Path]
		if !ok {
			t.Errorf("%s (%s) is not documented in %s", o.Path, o.Env, docPath)
			continue
		}
		if r.env != o.Env {
			t.Errorf("%s: documented variable %q, want %q", o.Path, r.env, o.Env)
		}
		if want := docType(o.Type); r.typ != want {
			t.Errorf("%s: documented type %q, want %q", o.Path, r.typ, want)
		}
		delete(rows, o.Path)
	}
	for path := range rows {
		t.Errorf("%s documents %s, which is no option", docPath, path)
	}
}

func docType(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t == reflect.TypeOf(Secret("")):
		return "secret"
	case t.Kind() == reflect.Slice:
		return "list"
	}
	return t.Kind().String()
}

// TestDocDefaultsMatchDefault compares the Default column with Default().
func TestDocDefaultsMatchDefault(t *testing.T) {
	rows := docRows(t)
	def := reflect.ValueOf(Default())
	for _, o := range options() {
		r, ok := rows[o.Path]
		if !ok {
			continue // reported by TestDocListsEveryOption
		}
		want := def.FieldByIndex(o.Index)
		got, err := parseDocDefault(o.Type, r.def)
		if err != nil {
			t.Errorf("%s: documented default %q: %v", o.Path, r.def, err)
			continue
		}
		if !reflect.DeepEqual(got, want.Interface()) {
			t.Errorf("%s: documented default %q, Default() has %v", o.Path, r.def,
				fmt.Sprint(revealed(want)))
		}
	}
}

func parseDocDefault(t reflect.Type, s string) (any, error) {
	v := reflect.New(t).Elem()
	if t.Kind() == reflect.Slice && s == "" {
		return v.Interface(), nil // nil list
	}
	if t == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, err
		}
		v.SetInt(int64(d))
		return v.Interface(), nil
	}
	if err := setFromString(v, s); err != nil {
		return nil, err
	}
	return v.Interface(), nil
}

func revealed(v reflect.Value) any {
	if s, ok := v.Interface().(Secret); ok {
		return strconv.Quote(s.Reveal())
	}
	return v.Interface()
}

// TestDocExampleLoads loads the example YAML of the doc, so the example
// stays in step with the options and their checks.
func TestDocExampleLoads(t *testing.T) {
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "```yaml\n")
	example, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatalf("%s has no yaml example", docPath)
	}
	cfg, err := Load(writeFile(t, example), []string{
		"OUTBOX_SQL_DSN=postgres://orders:secret@db:5432/orders",
		"OUTBOX_KAFKA_SASL_PASSWORD=secret",
	})
	if err != nil {
		t.Fatalf("example does not load: %v", err)
	}
	cfg.Kafka.TLS.CAFile = "" // the example's CA file does not exist here
	if err := cfg.Validate(); err != nil {
		t.Errorf("example does not validate: %v", err)
	}
	if cfg.Outbox.Shards != 4 || cfg.Kafka.Compression != "zstd" {
		t.Errorf("example not applied: %+v", cfg)
	}
}

package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts the name of every environment variable that Load reads.
// The rest of the name is the option's YAML path in upper case with '_'
// for '.', so kafka.tls.ca_file is read from OUTBOX_KAFKA_TLS_CA_FILE.
const EnvPrefix = "OUTBOX_"

// EnvConfigFile names the environment variable from which LoadFromEnv
// takes the path of the YAML file.
const EnvConfigFile = EnvPrefix + "CONFIG"

var durationType = reflect.TypeOf(time.Duration(0))

// option is one leaf field of Config: a value a user can set.
type option struct {
	// Path is the YAML path, as "kafka.tls.ca_file".
	Path string
	// Env is the environment variable, as "OUTBOX_KAFKA_TLS_CA_FILE".
	Env string
	// Index locates the field for reflect.Value.FieldByIndex.
	Index []int
	// Type is the field's type.
	Type reflect.Type
}

// options lists every leaf field of Config in declaration order, named by
// the yaml tags of the fields on its path.
func options() []option {
	return appendOptions(nil, reflect.TypeOf(Config{}), "", nil)
}

func appendOptions(out []option, t reflect.Type, prefix string, index []int) []option {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := prefix + name
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			out = appendOptions(out, f.Type, path+".", idx)
			continue
		}
		out = append(out, option{Path: path, Env: envName(path), Index: idx, Type: f.Type})
	}
	return out
}

// envName turns a YAML path into its environment variable name.
func envName(path string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// applyEnv sets every option whose variable appears in environ, a list of
// "NAME=value" entries as os.Environ returns. A variable set to the empty
// string counts as set. When a name appears twice the last entry wins.
func applyEnv(cfg *Config, environ []string) error {
	vars := envMap(environ)
	root := reflect.ValueOf(cfg).Elem()
	for _, o := range options() {
		raw, ok := vars[o.Env]
		if !ok {
			continue
		}
		if err := setFromString(root.FieldByIndex(o.Index), raw); err != nil {
			return fmt.Errorf("config: environment variable %s=%s: %w",
				o.Env, quoteUnlessSecret(o.Type, raw), err)
		}
	}
	return nil
}

func envMap(environ []string) map[string]string {
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if name, value, ok := strings.Cut(kv, "="); ok {
			vars[name] = value
		}
	}
	return vars
}

// UnknownEnv returns the variables in environ that start with EnvPrefix
// but match no option (nor EnvConfigFile), most likely misspelt names,
// sorted.
// Load ignores them, since other programs may share the prefix; a command
// can warn about them.
func UnknownEnv(environ []string) []string {
	known := map[string]bool{EnvConfigFile: true}
	for _, o := range options() {
		known[o.Env] = true
	}
	var unknown []string
	for name := range envMap(environ) {
		if strings.HasPrefix(name, EnvPrefix) && !known[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	return unknown
}

// setFromString parses raw into v according to v's type.
func setFromString(v reflect.Value, raw string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("not a duration such as 5s or 1m30s")
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(raw)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("not a boolean (true or false)")
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		v.SetInt(int64(n))
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		v.Set(reflect.ValueOf(splitList(raw)).Convert(v.Type()))
	default:
		return fmt.Errorf("unsupported option type %s", v.Type())
	}
	return nil
}

// splitList splits a comma separated list, trimming spaces and dropping
// empty items; an empty string gives a nil list.
func splitList(raw string) []string {
	var items []string
	for _, item := range strings.Split(raw, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// quoteUnlessSecret quotes raw for an error message, or masks it when the
// option holds a Secret.
func quoteUnlessSecret(t reflect.Type, raw string) string {
	if t == reflect.TypeOf(Secret("")) {
		return Secret(raw).String()
	}
	return strconv.Quote(raw)
}

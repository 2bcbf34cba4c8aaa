package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrUnknownKey is wrapped by the error Load returns when the YAML file has
// a key that matches no option.
var ErrUnknownKey = errors.New("unknown key")

// Load builds a Config in three layers, each overriding the one before:
// Default, then the YAML file at path (skipped when path is ""), then the
// environment variables in environ whose names start with EnvPrefix.
//
// environ holds "NAME=value" entries, as os.Environ returns; pass nil to
// ignore the environment. A key in the file that matches no option is an
// error wrapping ErrUnknownKey; a variable whose value does not parse is an
// error naming the variable. Load does not call Validate: a program checks
// the whole Config, or only the sections it uses.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		if err := loadFile(&cfg, path); err != nil {
			return Config{}, err
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// LoadFromEnv is Load with the process environment, reading the file named
// by the OUTBOX_CONFIG variable when it is set.
func LoadFromEnv() (Config, error) {
	return Load(os.Getenv(EnvConfigFile), os.Environ())
}

// loadFile overlays the YAML file at path on cfg. Keys absent from the file
// keep their value; a list in the file replaces the list in cfg.
func loadFile(cfg *Config, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: read file: %w", err)
	}
	if err := decodeYAML(cfg, data); err != nil {
		return fmt.Errorf("config: file %q: %w", path, err)
	}
	return nil
}

// decodeYAML decodes data onto cfg, refusing unknown keys. An empty
// document leaves cfg as it is.
func decodeYAML(cfg *Config, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	if unknown := unknownKeys(data); len(unknown) > 0 {
		return fmt.Errorf("%w %s", ErrUnknownKey, strings.Join(unknown, ", "))
	}
	return err
}

// unknownKeys returns "path (line n)" for every mapping key in data that
// matches no field of Config, so the error names the full path of a
// misspelt key rather than only its last part.
func unknownKeys(data []byte) []string {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return nil
	}
	fields := make(map[string]bool)
	for _, o := range options() {
		for p := o.Path; p != ""; p = parentPath(p) {
			fields[p] = true
		}
	}
	return walkUnknown(nil, root.Content[0], "", fields)
}

func walkUnknown(out []string, n *yaml.Node, prefix string, fields map[string]bool) []string {
	if n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		path := prefix + key.Value
		if !fields[path] {
			out = append(out, fmt.Sprintf("%s (line %d)", path, key.Line))
			continue
		}
		out = walkUnknown(out, value, path+".", fields)
	}
	return out
}

func parentPath(p string) string {
	i := strings.LastIndex(p, ".")
	if i < 0 {
		return ""
	}
	return p[:i]
}

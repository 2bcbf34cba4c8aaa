package config

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// Mask is what a non-empty Secret shows instead of its value, wherever it
// is printed, logged or marshalled.
const Mask = "[redacted]"

// Secret is a string that never shows itself when printed or logged: its
// String and GoString return a mask, and it marshals to YAML masked. Use
// Reveal to read the value.
//
// An empty Secret prints as the empty string, so a missing secret is still
// visible as missing. Because marshalling masks the value, a Config written
// out as YAML or JSON and read back has lost its secrets.
type Secret string

// Reveal returns the secret in clear text.
func (s Secret) Reveal() string { return string(s) }

// String returns Mask, or "" when the secret is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Mask
}

// GoString returns the quoted mask, for the %#v verb.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// Format implements fmt.Formatter so that every verb, including ones such
// as %d that would otherwise print the raw string inside a struct, shows
// only the mask.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	switch verb {
	case 'v', 's', 'q', 'x', 'X':
		_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
	default:
		_, _ = fmt.Fprintf(f, "%%!%c(config.Secret=%s)", verb, s.String())
	}
}

// MarshalYAML writes the mask instead of the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON writes the mask instead of the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText writes the mask instead of the value, for encoders (such as
// log/slog) that look for encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

package config

// Secret is a string that never shows itself when printed or logged: its
// String and GoString return a mask, and it marshals to YAML masked. Use
// Reveal to read the value.
type Secret string

// Reveal returns the secret in clear text.
func (s Secret) Reveal() string { return string(s) }

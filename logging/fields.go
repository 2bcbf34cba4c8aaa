package logging

import (
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/sirupsen/logrus"

	"github.com/watermill-outbox/watermill-outbox/config"
)

// secretMask replaces a secret whose String method would show it in clear.
const secretMask = "[redacted]"

// toLogrus copies Watermill fields into logrus fields, masking secrets. It
// returns nil for no fields so callers can skip WithFields.
func toLogrus(fields watermill.LogFields) logrus.Fields {
	if len(fields) == 0 {
		return nil
	}
	out := make(logrus.Fields, len(fields))
	for k, v := range fields {
		out[k] = maskValue(v)
	}
	return out
}

// maskValue turns a config.Secret into its printed (masked) form. The JSON
// formatter would otherwise marshal the underlying string. If the secret's
// printed form is its clear text, a fixed mask is used instead.
func maskValue(v any) any {
	switch s := v.(type) {
	case config.Secret:
		return maskSecret(s)
	case *config.Secret:
		if s == nil {
			return nil
		}
		return maskSecret(*s)
	}
	return v
}

func maskSecret(s config.Secret) string {
	printed := fmt.Sprint(s)
	if s != "" && printed == s.Reveal() {
		return secretMask
	}
	return printed
}

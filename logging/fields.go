package logging

import (
	"github.com/ThreeDotsLabs/watermill"
	"github.com/sirupsen/logrus"

	"github.com/watermill-outbox/watermill-outbox/config"
)

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

// maskValue turns a config.Secret into its printed form, config.Mask (or ""
// when empty). The JSON formatter would otherwise marshal the underlying
// string.
func maskValue(v any) any {
	switch s := v.(type) {
	case config.Secret:
		return s.String()
	case *config.Secret:
		if s == nil {
			return nil
		}
		return s.String()
	}
	return v
}

package logging

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// ErrUnknownLevel is returned (wrapped) when config.Log.Level names no level.
var ErrUnknownLevel = errors.New("unknown log level")

// ErrUnknownFormat is returned (wrapped) when config.Log.Format names no
// format.
var ErrUnknownFormat = errors.New("unknown log format")

// levels maps the names accepted in config.Log.Level to logrus levels.
// At "warn" only Warn and Error calls show.
var levels = map[string]logrus.Level{
	"trace": logrus.TraceLevel,
	"debug": logrus.DebugLevel,
	"info":  logrus.InfoLevel,
	"warn":  logrus.WarnLevel,
	"error": logrus.ErrorLevel,
}

// parseLevel reads a level name; empty means info.
func parseLevel(name string) (logrus.Level, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	if key == "" {
		return logrus.InfoLevel, nil
	}
	lvl, ok := levels[key]
	if !ok {
		return 0, fmt.Errorf("logging: level %q (want trace, debug, info, warn or error): %w",
			name, ErrUnknownLevel)
	}
	return lvl, nil
}

// parseFormat returns the logrus formatter for a format name; empty means
// text.
func parseFormat(name string) (logrus.Formatter, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "text":
		return &logrus.TextFormatter{
			DisableColors:   true,
			FullTimestamp:   true,
			TimestampFormat: time.RFC3339Nano,
		}, nil
	case "json":
		return &logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano}, nil
	default:
		return nil, fmt.Errorf("logging: format %q (want text or json): %w",
			name, ErrUnknownFormat)
	}
}

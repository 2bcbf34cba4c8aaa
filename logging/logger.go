package logging

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/sirupsen/logrus"

	"github.com/watermill-outbox/watermill-outbox/config"
)

// Logger is a watermill.LoggerAdapter that writes through a logrus entry.
// A Logger never changes after it is built: With returns a new Logger, so
// one Logger may be shared by any number of goroutines.
type Logger struct {
	entry *logrus.Entry
}

var _ watermill.LoggerAdapter = (*Logger)(nil)

// New builds a Logger at cfg.Level (trace, debug, info, warn or error;
// empty means info) in cfg.Format (text or json; empty means text), writing
// to out, or to os.Stderr when out is nil. An unknown level or format is an
// error wrapping ErrUnknownLevel or ErrUnknownFormat; when both are wrong,
// both are reported. At warn, only Warn and Error calls are written
// (Watermill's adapter itself has no warn method: use Warn or the package
// function Warn).
func New(cfg config.Log, out io.Writer) (*Logger, error) {
	level, lerr := parseLevel(cfg.Level)
	formatter, ferr := parseFormat(cfg.Format)
	if err := errors.Join(lerr, ferr); err != nil {
		return nil, err
	}
	if out == nil {
		out = os.Stderr
	}
	l := logrus.New()
	l.SetOutput(out)
	l.SetLevel(level)
	l.SetFormatter(formatter)
	return NewFromLogrus(l), nil
}

// FromConfig builds a Logger from the log section of a whole Config,
// writing to os.Stderr.
func FromConfig(cfg config.Config) (*Logger, error) {
	l, err := New(cfg.Log, os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("logging: from config: %w", err)
	}
	return l, nil
}

// NewFromLogrus wraps an existing logrus logger; its level, formatter and
// output are used as they are. A nil logger means logrus.StandardLogger().
func NewFromLogrus(l *logrus.Logger) *Logger {
	if l == nil {
		l = logrus.StandardLogger()
	}
	return &Logger{entry: logrus.NewEntry(l)}
}

// NewFromEntry wraps a logrus entry, keeping the fields it already carries.
// A nil entry means an entry of logrus.StandardLogger().
func NewFromEntry(e *logrus.Entry) *Logger {
	if e == nil {
		e = logrus.NewEntry(logrus.StandardLogger())
	}
	return &Logger{entry: e}
}

// Logrus returns the logrus logger underneath, for code that needs logrus
// itself (hooks, a level change at run time).
func (l *Logger) Logrus() *logrus.Logger { return l.entry.Logger }

// Error logs msg at error level with fields; err, when not nil, goes into
// the "error" field and takes that key over any "error" in fields.
func (l *Logger) Error(msg string, err error, fields watermill.LogFields) {
	e := l.with(fields)
	if err != nil {
		e = e.WithError(err)
	}
	e.Error(msg)
}

// Warn logs msg at warn level with fields (and those added with With). It
// makes Logger a WarnLogger; code holding a watermill.LoggerAdapter reaches
// it through the package function Warn.
func (l *Logger) Warn(msg string, fields watermill.LogFields) { l.with(fields).Warn(msg) }

// Info logs msg at info level with fields.
func (l *Logger) Info(msg string, fields watermill.LogFields) { l.with(fields).Info(msg) }

// Debug logs msg at debug level with fields.
func (l *Logger) Debug(msg string, fields watermill.LogFields) { l.with(fields).Debug(msg) }

// Trace logs msg at logrus's trace level (below debug) with fields.
func (l *Logger) Trace(msg string, fields watermill.LogFields) { l.with(fields).Trace(msg) }

// With returns a new Logger that adds fields to every entry; l itself is
// left unchanged. Fields given to a single call win over these.
func (l *Logger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return &Logger{entry: l.with(fields)}
}

// with returns the entry with fields added; logrus copies the field map,
// so the receiver's entry is not modified.
func (l *Logger) with(fields watermill.LogFields) *logrus.Entry {
	lf := toLogrus(fields)
	if lf == nil {
		return l.entry
	}
	return l.entry.WithFields(lf)
}

package logging

import "github.com/ThreeDotsLabs/watermill"

// WarnLogger is a logger with a warning level, which
// watermill.LoggerAdapter lacks. *Logger is one.
type WarnLogger interface {
	Warn(msg string, fields watermill.LogFields)
}

var _ WarnLogger = (*Logger)(nil)

// SeverityField is the field Warn adds when it falls back to Info; its
// value is "warn". It is not named "level" because the logrus and most
// other formatters write their own level under that key.
const SeverityField = "severity"

// Warn logs msg at warn level on l when l is a WarnLogger (a *Logger,
// including one returned by With, so its fields are kept). Any other adapter
// gets the line at info level with SeverityField set to "warn": a warning
// stays visible wherever info is, without being counted as an error. A nil
// l logs nothing.
func Warn(l watermill.LoggerAdapter, msg string, fields watermill.LogFields) {
	l = OrNop(l)
	if w, ok := l.(WarnLogger); ok {
		w.Warn(msg, fields)
		return
	}
	l.Info(msg, fields.Add(watermill.LogFields{SeverityField: "warn"}))
}

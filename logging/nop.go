package logging

import "github.com/ThreeDotsLabs/watermill"

// Nop returns a logger that discards everything.
func Nop() watermill.LoggerAdapter { return watermill.NopLogger{} }

// OrNop returns l, or a logger that discards everything when l is nil
// (including a nil *Logger held in the interface). Constructors across the
// project call it on the logger they are given.
func OrNop(l watermill.LoggerAdapter) watermill.LoggerAdapter {
	if l == nil {
		return watermill.NopLogger{}
	}
	if lg, ok := l.(*Logger); ok && lg == nil {
		return watermill.NopLogger{}
	}
	return l
}

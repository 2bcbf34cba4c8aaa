package inbox

import (
	"errors"
	"fmt"
)

var (
	// ErrEmptyKey means the message has no deduplication key: an empty UUID,
	// or an empty or missing KeyMetadata entry. It is always permanent: the
	// message is poisoned without running the handler.
	ErrEmptyKey = errors.New("inbox: empty message key")
	// ErrInvalidKey means the key cannot be stored: longer than MaxKeyLen
	// bytes, not valid UTF-8, or holding a NUL byte. It is always permanent.
	ErrInvalidKey = errors.New("inbox: invalid message key")
	// ErrInvalidTable means a table name holds characters other than ASCII
	// letters, digits and underscores, starts with a digit, or is too long.
	ErrInvalidTable = errors.New("inbox: invalid table name")
	// ErrUnknownDialect means the dialect is neither "postgres" nor "mysql".
	ErrUnknownDialect = errors.New("inbox: unknown dialect")
	// ErrHandlerPanic wraps the value of a panic recovered from the handler.
	ErrHandlerPanic = errors.New("inbox: handler panicked")
	// ErrConflict means the database aborted the attempt because of a
	// concurrent delivery of the same key (deadlock, serialization failure,
	// lock wait timeout). It is retryable: the next attempt sees the row.
	ErrConflict = errors.New("inbox: concurrent delivery conflict")
)

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// Permanent marks err as permanent: the middleware does not retry it and
// sends the message to the poison topic at once. Permanent(nil) is nil.
// The result still matches err with errors.Is and errors.As.
func Permanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or any error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// panicError turns a recovered panic value into an error wrapping
// ErrHandlerPanic and, when the value is an error, that error too.
func panicError(v any) error {
	if err, ok := v.(error); ok {
		return fmt.Errorf("%w: %w", ErrHandlerPanic, err)
	}
	return fmt.Errorf("%w: %v", ErrHandlerPanic, v)
}

package forwarder

import (
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
)

// link tracks whether a dependency (the database, Kafka, the LISTEN
// connection) works, and logs only its changes: once when it is lost, once
// when it is back.
type link struct {
	name    string
	logger  watermill.LoggerAdapter
	mu      sync.Mutex
	down    bool
	checked bool
	lastErr error
}

func newLink(name string, logger watermill.LoggerAdapter) *link {
	return &link{name: name, logger: logger}
}

// fail records a failure; the first one after a success is logged at error.
func (l *link) fail(err error, fields watermill.LogFields) {
	l.mu.Lock()
	wasDown := l.down
	l.down, l.checked, l.lastErr = true, true, err
	l.mu.Unlock()
	if !wasDown {
		l.logger.Error("Forwarder lost "+l.name, err, fields)
	}
}

// ok records a success; the first one after a failure is logged at info.
func (l *link) ok(fields watermill.LogFields) {
	l.mu.Lock()
	wasDown := l.down
	l.down, l.checked, l.lastErr = false, true, nil
	l.mu.Unlock()
	if wasDown {
		l.logger.Info("Forwarder reached "+l.name+" again", fields)
	}
}

// state returns the last error, or errNotChecked before any check.
func (l *link) state() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.checked {
		return errNotChecked
	}
	return l.lastErr
}

// backoff doubles a wait from initial up to max.
type backoff struct {
	initial, max, next time.Duration
}

func (b *backoff) wait() time.Duration {
	if b.next == 0 {
		b.next = b.initial
	}
	w := b.next
	b.next = min(2*b.next, b.max)
	return w
}

func (b *backoff) reset() { b.next = 0 }

// sleep waits d or until done is closed; it reports whether d elapsed.
func sleep(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

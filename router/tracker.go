package router

import "sync"

// trackerKey keys the *tracker of a delivery in the message context.
type trackerKey struct{}

// tracker collects what happened to one delivery across its attempts, so the
// automatic log can write one line per event.
type tracker struct {
	mu        sync.Mutex
	attempts  int
	lastErr   error
	duplicate bool
	poisoned  bool
	poisonErr error
}

type trackerState struct {
	attempts  int
	lastErr   error
	duplicate bool
	poisoned  bool
	poisonErr error
}

// begin starts an attempt; it returns its number and the previous error.
func (t *tracker) begin() (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.attempts++
	return t.attempts, t.lastErr
}

func (t *tracker) end(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastErr = err
}

func (t *tracker) markDuplicate() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.duplicate = true
}

func (t *tracker) markPoisoned(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.poisoned, t.poisonErr = true, err
}

func (t *tracker) snapshot() trackerState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return trackerState{t.attempts, t.lastErr, t.duplicate, t.poisoned, t.poisonErr}
}

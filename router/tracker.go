package router

import "sync"

// trackerKey keys the *tracker of a delivery in the message context.
type trackerKey struct{}

// tracker collects what happened to one delivery across its attempts, so the
// automatic log can write one line per event.
type tracker struct {
	mu sync.Mutex
	s  trackerState
}

// trackerState is what a tracker has recorded so far.
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
	t.s.attempts++
	return t.s.attempts, t.s.lastErr
}

func (t *tracker) end(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.lastErr = err
}

func (t *tracker) markDuplicate() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.duplicate = true
}

func (t *tracker) markPoisoned(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.poisoned, t.s.poisonErr = true, err
}

func (t *tracker) snapshot() trackerState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s
}

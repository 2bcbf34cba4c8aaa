package router

import (
	"fmt"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
)

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

// registry finds the tracker of a delivery from the fields of a log line,
// for the inbox hook, which sees log lines but not the message.
type registry struct {
	mu sync.Mutex
	m  map[string]*tracker
}

func newRegistry() *registry { return &registry{m: map[string]*tracker{}} }

func registryKey(fields watermill.LogFields) string {
	return fmt.Sprint(fields["handler"], "\x00", fields["message_uuid"])
}

// add registers t under the delivery's handler and UUID and returns the
// function that removes it. A concurrent delivery of the same UUID to the
// same handler replaces the entry; the hook then credits the later one.
func (r *registry) add(fields watermill.LogFields, t *tracker) func() {
	k := registryKey(fields)
	r.mu.Lock()
	r.m[k] = t
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.m[k] == t {
			delete(r.m, k)
		}
	}
}

func (r *registry) get(fields watermill.LogFields) *tracker {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[registryKey(fields)]
}

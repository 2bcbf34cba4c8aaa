package inbox

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff returns the wait after the given failed attempt (1-based):
// RetryInitial doubled per earlier attempt, capped at RetryMax, then
// jittered to a random point in its upper half so that consumers failing
// together do not retry in step.
func (i *Inbox) backoff(attempt int) time.Duration {
	d := i.cfg.RetryInitial
	for n := 1; n < attempt && d < i.cfg.RetryMax; n++ {
		d *= 2
	}
	d = min(d, i.cfg.RetryMax)
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

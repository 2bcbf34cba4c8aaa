package inbox

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestBackoffGrowsIsCappedAndJittered(t *testing.T) {
	i := &Inbox{cfg: Config{}}
	i.cfg.RetryInitial = 10 * time.Millisecond
	i.cfg.RetryMax = 70 * time.Millisecond
	ceilings := []time.Duration{10, 20, 40, 70, 70, 70}
	for n, ceil := range ceilings {
		ceil *= time.Millisecond
		seen := map[time.Duration]bool{}
		for range 200 {
			d := i.backoff(n + 1)
			if d < ceil/2 || d > ceil {
				t.Fatalf("attempt %d: backoff %s outside [%s, %s]", n+1, d, ceil/2, ceil)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Fatalf("attempt %d: no jitter in 200 draws", n+1)
		}
	}
	if d := i.backoff(1000); d > i.cfg.RetryMax {
		t.Fatalf("attempt 1000: backoff %s over RetryMax", d)
	}
}

func TestMetricsSharedOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := newMetrics(reg)
	if err != nil {
		t.Fatalf("first: %v", err)
	}
	b, err := newMetrics(reg)
	if err != nil {
		t.Fatalf("second inbox on the same registry: %v", err)
	}
	b.processed.WithLabelValues("g", "h").Inc()
	a.processed.WithLabelValues("g", "h").Inc()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "watermill_outbox_inbox_processed_total" {
			if v := mf.GetMetric()[0].GetCounter().GetValue(); v != 2 {
				t.Fatalf("processed = %v, want 2 (shared collector)", v)
			}
			return
		}
	}
	t.Fatal("processed counter not registered")
}

func TestPanicErrorKeepsTheValue(t *testing.T) {
	cause := errors.New("cause")
	if err := panicError(cause); !errors.Is(err, ErrHandlerPanic) || !errors.Is(err, cause) {
		t.Fatalf("panicError(error) = %v", err)
	}
	err := panicError(42)
	if !errors.Is(err, ErrHandlerPanic) || err.Error() != ErrHandlerPanic.Error()+": 42" {
		t.Fatalf("panicError(42) = %v", err)
	}
}

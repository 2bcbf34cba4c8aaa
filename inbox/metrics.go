package inbox

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the inbox's Prometheus collectors, labelled by consumer
// group and handler name.
type metrics struct {
	processed *prometheus.CounterVec
	duplicate *prometheus.CounterVec
	retried   *prometheus.CounterVec
	poisoned  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
}

var metricLabels = []string{"consumer_group", "handler"}

func newCounter(name, help string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "watermill_outbox", Subsystem: "inbox", Name: name, Help: help,
	}, metricLabels)
}

// newMetrics builds the collectors and registers them on reg when it is not
// nil. A collector that reg already holds (a second Inbox on the same
// registry) is shared rather than reported as an error.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		processed: newCounter("processed_total",
			"Messages whose handler committed its transaction."),
		duplicate: newCounter("duplicate_total",
			"Messages acknowledged without running the handler: key already recorded."),
		retried: newCounter("retried_total",
			"Failed attempts followed by another attempt."),
		poisoned: newCounter("poisoned_total",
			"Messages sent to the poison topic."),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "watermill_outbox", Subsystem: "inbox",
			Name:    "handler_duration_seconds",
			Help:    "Time the handler ran inside the inbox transaction, per attempt.",
			Buckets: prometheus.DefBuckets,
		}, metricLabels),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.processed = register(reg, m.processed, &err)
	m.duplicate = register(reg, m.duplicate, &err)
	m.retried = register(reg, m.retried, &err)
	m.poisoned = register(reg, m.poisoned, &err)
	m.duration = register(reg, m.duration, &err)
	return m, err
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	*errp = errors.Join(*errp, err)
	return c
}

package forwarder

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the forwarder's Prometheus collectors, all labelled by the
// shard's SQL topic.
type metrics struct {
	forwarded    *prometheus.CounterVec
	failed       *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	backlog      *prometheus.GaugeVec
	oldestAge    *prometheus.GaugeVec
	blocked      *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	labels := []string{"topic"}
	counter := func(name, help string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "outbox", Subsystem: "forwarder", Name: name, Help: help,
		}, labels)
		return register(reg, c)
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "outbox", Subsystem: "forwarder", Name: name, Help: help,
		}, labels)
		return register(reg, g)
	}
	return &metrics{
		forwarded: counter("forwarded_total", "Messages Kafka confirmed."),
		failed: counter("failed_total",
			"Messages whose send failed and will be retried."),
		deadLettered: counter("dead_lettered_total",
			"Rows written to the dead-letter table instead of Kafka."),
		backlog: gauge("backlog", "Rows not yet forwarded."),
		oldestAge: gauge("oldest_pending_age_seconds",
			"Age of the oldest row not yet forwarded."),
		blocked: gauge("blocked_by_open_transaction",
			"1 when pending rows are invisible because an older transaction is open."),
	}
}

// register adds c to reg, or returns the collector registered before under
// the same name, so two forwarders can share one registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	err := reg.Register(c)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing
		}
	}
	return c
}

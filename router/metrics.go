package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// healthTimeout bounds the backend check of one /healthz request.
const healthTimeout = 2 * time.Second

// Health is the body of /healthz.
type Health struct {
	// Running reports that the router runs its handlers.
	Running bool `json:"running"`
	// Backend names the backend.
	Backend string `json:"backend"`
	// Addr is the backend's server, password masked.
	Addr string `json:"addr"`
	// Reachable reports that the backend's server answered.
	Reachable bool `json:"reachable"`
	// Error says why the check failed, if it did.
	Error string `json:"error,omitempty"`
}

// Health checks whether the router runs and its backend answers.
func (r *Router) Health(ctx context.Context) Health {
	h := Health{Running: r.wr.IsRunning() && !r.wr.IsClosed(),
		Backend: r.cfg.Backend.Name, Addr: r.cfg.Backend.Addr}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	err := r.cfg.Backend.Ping(ctx)
	h.Reachable = err == nil
	switch {
	case err != nil:
		h.Error = err.Error()
	case !h.Running:
		h.Error = "router not running"
	}
	return h
}

// Handler serves /metrics (the Registry: Watermill's router, publisher and
// subscriber metrics and the inbox metrics) and /healthz (Health as JSON,
// status 200 when the router runs and the backend answers, else 503).
func (r *Router) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(r.cfg.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, req *http.Request) {
		h := r.Health(req.Context())
		w.Header().Set("Content-Type", "application/json")
		if !h.Running || !h.Reachable {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(h)
	})
	return mux
}

// MetricsAddr is the address the metrics endpoint listens on once Run has
// started it ("" before, or when Metrics.Address is empty); with a port of
// 0 in the configuration it holds the port chosen.
func (r *Router) MetricsAddr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.srvAddr
}

func (r *Router) serveMetrics() error {
	addr := r.cfg.Metrics.Address
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("router: metrics endpoint %s: %w", addr, err)
	}
	srv := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 5 * time.Second}
	r.mu.Lock()
	r.server, r.srvAddr = srv, ln.Addr().String()
	r.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.cfg.Logger.Error("router: metrics endpoint stopped", err,
				watermill.LogFields{"address": addr})
		}
	}()
	return nil
}

func (r *Router) stopMetrics() error {
	r.mu.Lock()
	srv := r.server
	r.server = nil
	r.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/forwarder"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

const forwardLong = `Run the outbox forwarder until SIGINT or SIGTERM: it drains the outbox
tables (outbox.topic, split into outbox.shards) into Kafka, then finishes the
batches in flight and exits.

Several instances may run against one database: each takes the shards no
other instance holds. With metrics.address set, an HTTP server answers
/metrics (Prometheus) and /healthz (200 while the forwarder runs and its
last database and Kafka checks succeeded, 503 otherwise).`

// forwardOptions are the flags of the forward command.
type forwardOptions struct {
	mode    string
	migrate bool
}

func init() { rootCmd.AddCommand(newForwardCmd()) }

func newForwardCmd() *cobra.Command {
	var opts forwardOptions
	cmd := &cobra.Command{
		Use:   "forward",
		Short: "Run the outbox forwarder (drains the outbox into Kafka)",
		Long:  forwardLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runForward(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.mode, "mode", "batch",
		"batch (this project's batching forwarder) or component (Watermill's stock forwarder)")
	f.BoolVar(&opts.migrate, "migrate", false, "create missing outbox tables before starting")
	return cmd
}

func runForward(cmd *cobra.Command, opts forwardOptions) error {
	mode, err := parseMode(opts.mode)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	if err := validateForward(cfg); err != nil {
		return err
	}
	logger, err := newLogger(cmd, cfg)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	db, err := publisher.OpenDB(ctx, cfg.SQL)
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	defer db.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	fcfg, err := forwarder.ConfigFrom(cfg, db)
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	fcfg.Mode, fcfg.InitializeSchema, fcfg.Logger, fcfg.Registerer = mode, opts.migrate, logger, reg
	fwd, err := forwarder.New(fcfg)
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	return serveForwarder(ctx, fwd, cfg.Metrics.Address, reg, logger)
}

func parseMode(s string) (forwarder.Mode, error) {
	switch s {
	case "batch":
		return forwarder.ModeBatch, nil
	case "component":
		return forwarder.ModeComponent, nil
	}
	return 0, fmt.Errorf("forward: --mode %q is not batch or component", s)
}

// validateForward checks the sections the forwarder reads, listing every
// problem.
func validateForward(cfg config.Config) error {
	err := errors.Join(cfg.SQL.Validate(), cfg.Kafka.Validate(), cfg.Outbox.Validate(),
		cfg.Metrics.Validate(), cfg.Log.Validate())
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	return nil
}

// serveForwarder runs fwd and, when addr is set, the metrics and health
// server, until ctx ends; then it stops both.
func serveForwarder(ctx context.Context, fwd *forwarder.Forwarder, addr string,
	reg *prometheus.Registry, logger watermill.LoggerAdapter) error {
	var srv *http.Server
	srvErr := make(chan error, 1)
	if addr != "" {
		srv = &http.Server{Addr: addr, Handler: forwardMux(fwd, reg),
			ReadHeaderTimeout: 5 * time.Second}
		go func() { srvErr <- srv.ListenAndServe() }()
		logger.Info("Serving /metrics and /healthz", watermill.LogFields{"address": addr})
	}
	runErr := make(chan error, 1)
	go func() { runErr <- fwd.Run(ctx) }()
	var err error
	select {
	case err = <-runErr:
	case err = <-srvErr:
		err = fmt.Errorf("forward: metrics server on %s: %w", addr, err)
		_ = fwd.Close()
		<-runErr
	}
	if srv != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}
	return errors.Join(err, fwd.Close())
}

// forwardMux serves /healthz from the forwarder's health and /metrics from
// reg.
func forwardMux(fwd *forwarder.Forwarder, reg *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := fwd.Healthy(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/watermill-outbox/watermill-outbox/forwarder"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

const statusLong = `Print, for each shard of the outbox (outbox.topic split into
outbox.shards), how many rows the forwarder's consumer group has not
forwarded yet, the age of the oldest of them, how many rows were
dead-lettered, and whether the shard is held back by an open transaction
(PostgreSQL only).`

func init() { rootCmd.AddCommand(newStatusCmd()) }

func newStatusCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the outbox backlog, oldest pending age and dead letters per shard",
		Long:  statusLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStatus(cmd, timeout)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "bound on the whole command")
	return cmd
}

func runStatus(cmd *cobra.Command, timeout time.Duration) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	if err := errors.Join(cfg.SQL.Validate(), cfg.Outbox.Validate()); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	db, err := publisher.OpenDB(ctx, cfg.SQL)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	defer db.Close()
	o := cfg.Outbox
	shards, err := forwarder.Status(ctx, db, cfg.SQL.Dialect, o.Topic, o.Shards, o.ConsumerGroup)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SHARD\tBACKLOG\tOLDEST PENDING\tDEAD LETTERS\tBLOCKED BY OPEN TX")
	for _, s := range shards {
		fmt.Fprintf(w, "%s\t%d\t%s\t%d\t%t\n", s.Topic, s.Backlog,
			s.OldestPending.Round(time.Millisecond), s.DeadLetters, s.BlockedByOpenTx)
	}
	return w.Flush()
}

package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

const migrateLong = `Create the outbox tables if they are missing: for each SQL topic the
messages table (watermill_<topic>) and offsets table
(watermill_offsets_<topic>) exactly as watermill-sql creates them, and the
dead-letter table watermill_outbox_dead_letters.

Each --topic is a base SQL topic; with --shards N > 1 its shard topics
<topic>_0 .. <topic>_<N-1> are created instead. Without --topic the
outbox.topic and outbox.shards of the configuration are used, and
--dialect and --dsn default to sql.dialect and sql.dsn.

Running it again changes nothing, and several instances may run it at the
same moment: migrations take a database lock and run one at a time.`

// migrateOptions are the flags of the migrate command.
type migrateOptions struct {
	dialect string
	dsn     string
	topics  []string
	shards  int
	timeout time.Duration
}

func init() { rootCmd.AddCommand(newMigrateCmd()) }

func newMigrateCmd() *cobra.Command {
	var opts migrateOptions
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create the outbox tables (idempotent, safe to run concurrently)",
		Long:  migrateLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrate(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.dialect, "dialect", "", "postgres or mysql (default: sql.dialect)")
	f.StringVar(&opts.dsn, "dsn", "", "database connection string (default: sql.dsn)")
	f.StringArrayVar(&opts.topics, "topic", nil,
		"base SQL topic to migrate, repeatable (default: outbox.topic)")
	f.IntVar(&opts.shards, "shards", 0, "shards per topic (default: outbox.shards)")
	f.DurationVar(&opts.timeout, "timeout", 2*time.Minute,
		"bound on connecting, waiting for the migration lock and migrating")
	return cmd
}

func runMigrate(cmd *cobra.Command, opts migrateOptions) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	applyMigrateFlags(&cfg, opts)
	topics, err := migrateTopics(cfg, opts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), opts.timeout)
	defer cancel()
	db, err := publisher.OpenDB(ctx, cfg.SQL)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer db.Close()
	if err := publisher.Migrate(ctx, db, cfg.SQL.Dialect, topics...); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "migrated %s: %s\n", cfg.SQL.Dialect, strings.Join(topics, " "))
	return nil
}

// applyMigrateFlags lets the flags that were given override the file and
// environment configuration.
func applyMigrateFlags(cfg *config.Config, opts migrateOptions) {
	if opts.dialect != "" {
		cfg.SQL.Dialect = opts.dialect
	}
	if opts.dsn != "" {
		cfg.SQL.DSN = config.Secret(opts.dsn)
	}
	if opts.shards != 0 {
		cfg.Outbox.Shards = opts.shards
	}
}

// migrateTopics expands the base topics into every SQL topic to create,
// checking the shard count and each topic's name.
func migrateTopics(cfg config.Config, opts migrateOptions) ([]string, error) {
	bases := opts.topics
	if len(bases) == 0 {
		bases = []string{cfg.Outbox.Topic}
	}
	var topics []string
	for _, b := range bases {
		oc := publisher.OutboxConfigFrom(cfg)
		oc.ForwarderTopic = b
		if err := oc.Validate(); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		topics = append(topics, publisher.ShardTopics(b, cfg.Outbox.Shards)...)
	}
	return topics, nil
}

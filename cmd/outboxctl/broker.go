package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/spf13/cobra"

	"github.com/watermill-outbox/watermill-outbox/publisher/kafkatest"
)

// brokerLong is the help of the broker command, with the limits of what the
// data directory keeps (read from kfake's persist.go and checked by
// broker_test.go).
const brokerLong = `Run the embedded Kafka-protocol broker (kfake) as a standalone process on
127.0.0.1, for development and demos. It speaks the Kafka protocol, so any
client, sarama and watermill-kafka included, connects to it as to a real
single-node cluster.

When it accepts connections it prints one line to stdout: its address
(127.0.0.1:PORT), ready to use as the brokers list. Logs go to stderr.
SIGINT or SIGTERM stops it gracefully and it exits 0; a second signal
during shutdown stops it at once and it exits 1.

With --data-dir (the default), topics, records and committed consumer-group
offsets are kept in that directory, and a broker started again on it serves
them as before. Limits of what survives:

  - Stopped gracefully (SIGINT, SIGTERM): everything listed above.
  - Killed (SIGKILL, crash): every record of a topic that was created with
    --topic or through the admin API (CreateTopics) survives, and so do
    committed offsets, since each produced batch and each commit is
    written to disk before it is acknowledged. With --fsync (the default)
    each is also fsynced, so they survive a machine crash too; with
    --fsync=false they survive a killed process only, and sending is
    several times faster. A topic created automatically on first
    use is written to disk only at graceful shutdown, so after a kill it is
    gone with its records: create topics explicitly when that matters.
    Also written only at graceful shutdown: the idempotent producers'
    sequence state (a retry after a kill can then be stored twice) and the
    start offset set by DeleteRecords (deleted records may reappear).
  - --topic creates topics missing from the directory; a topic that exists
    keeps its partition count.

With --data-dir="" records are kept in memory only and lost on exit.`

// brokerOptions are the flags of the broker command.
type brokerOptions struct {
	port       int
	dataDir    string
	partitions int32
	topics     []string
	fsync      bool
}

func init() { rootCmd.AddCommand(newBrokerCmd()) }

func newBrokerCmd() *cobra.Command {
	var o brokerOptions
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run a local Kafka-protocol broker with an optional data directory",
		Long:  brokerLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runBroker(cmd, o) },
	}
	f := cmd.Flags()
	f.IntVar(&o.port, "port", 9092, "TCP port on 127.0.0.1; 0 picks a free one")
	f.StringVar(&o.dataDir, "data-dir", ".data/kafka",
		`directory that keeps topics and records across restarts; "" keeps them in memory`)
	f.Int32Var(&o.partitions, "partitions", 1,
		"partitions of each --topic and of topics created on first use")
	f.StringArrayVar(&o.topics, "topic", nil, "topic to create at start (repeatable)")
	f.BoolVar(&o.fsync, "fsync", true,
		"fsync each produced batch, so records survive a machine crash, not only a kill")
	return cmd
}

// runBroker starts the broker, prints its address and serves until the
// command's context is cancelled.
func runBroker(cmd *cobra.Command, o brokerOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	logger, err := newLogger(cmd, cfg)
	if err != nil {
		return err
	}
	b, err := kafkatest.Start(kafkatest.Config{
		Port: o.port, DataDir: o.dataDir, Topics: o.topics,
		Partitions: o.partitions, NoSync: !o.fsync, Logger: logger,
	})
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	addrs := strings.Join(b.Addrs(), ",")
	logger.Info("broker started", watermill.LogFields{"addr": addrs, "data_dir": o.dataDir})
	fmt.Fprintln(cmd.OutOrStdout(), addrs)
	<-cmd.Context().Done()
	return stopBroker(b, logger)
}

// validate reports every bad flag at once.
func (o brokerOptions) validate() error {
	var errs []error
	if o.port < 0 || o.port > 65535 {
		errs = append(errs, fmt.Errorf("broker: --port %d is outside 0-65535", o.port))
	}
	if o.partitions < 1 {
		errs = append(errs, fmt.Errorf("broker: --partitions %d must be at least 1", o.partitions))
	}
	for _, t := range o.topics {
		if strings.TrimSpace(t) == "" {
			errs = append(errs, errors.New("broker: --topic must not be empty"))
		}
	}
	return errors.Join(errs...)
}

// errForcedStop is returned when a second signal cuts the shutdown short.
var errForcedStop = errors.New("broker: stopped before its state was saved")

// stopBroker closes b, which writes its state to the data directory. A
// second SIGINT or SIGTERM abandons the wait.
func stopBroker(b *kafkatest.Broker, logger watermill.LoggerAdapter) error {
	force := make(chan os.Signal, 1)
	signal.Notify(force, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(force)
	logger.Info("broker stopping", nil)
	done := make(chan struct{})
	go func() {
		b.Close()
		close(done)
	}()
	select {
	case <-done:
		logger.Info("broker stopped", nil)
		return nil
	case sig := <-force:
		logger.Error("broker shutdown interrupted", errForcedStop,
			watermill.LogFields{"signal": sig.String()})
		return errForcedStop
	}
}

package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/spf13/cobra"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

const requeueLong = `Send messages from the inbox poison topic back to the topic each was
consumed from, so that a fixed consumer handles them again.

The poison topic (default inbox.poison_topic) is read from its beginning,
without a consumer group, so nothing is marked as consumed and a message
can be requeued again later. Each message goes back with its UUID, payload
and metadata, minus the poison entries. Without --id every message is sent
once; with --id (repeatable) only those UUIDs, and the command fails if one
was not found.

Reading stops once every --id was sent, after --idle without a new
message, or at --timeout. Requeueing a message that an inbox consumer has
meanwhile applied is harmless: it is skipped as a duplicate.`

// requeueOptions are the flags of the requeue command.
type requeueOptions struct {
	brokers []string
	topic   string
	ids     []string
	timeout time.Duration
	idle    time.Duration
}

func init() { rootCmd.AddCommand(newRequeueCmd()) }

func newRequeueCmd() *cobra.Command {
	var opts requeueOptions
	cmd := &cobra.Command{
		Use:   "requeue",
		Short: "Send poisoned inbox messages back to their original topic",
		Long:  requeueLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRequeue(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&opts.brokers, "brokers", nil, "Kafka brokers (default: kafka.brokers)")
	f.StringVar(&opts.topic, "poison-topic", "", "poison topic (default: inbox.poison_topic)")
	f.StringArrayVar(&opts.ids, "id", nil,
		"UUID of a message to requeue, repeatable (default: all)")
	f.DurationVar(&opts.timeout, "timeout", 2*time.Minute, "bound on the whole command")
	f.DurationVar(&opts.idle, "idle", inbox.DefaultRequeueIdle,
		"stop after this long without a new poison message")
	return cmd
}

func runRequeue(cmd *cobra.Command, opts requeueOptions) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	if len(opts.brokers) > 0 {
		cfg.Kafka.Brokers = opts.brokers
	}
	if opts.topic == "" {
		opts.topic = cfg.Inbox.PoisonTopic
	}
	logger, err := newLogger(cmd, cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), opts.timeout)
	defer cancel()
	sub, err := newPoisonSubscriber(cfg.Kafka, logger)
	if err != nil {
		return err
	}
	defer sub.Close()
	pub, err := publisher.NewKafka(ctx, cfg.Kafka, logger)
	if err != nil {
		return fmt.Errorf("requeue: %w", err)
	}
	defer pub.Close()
	res, err := inbox.Requeue(ctx, sub, pub, opts.topic, opts.ids, opts.idle)
	printRequeue(cmd, opts.topic, res)
	if err != nil {
		return err
	}
	if len(res.Missing) > 0 {
		return fmt.Errorf("requeue: not found in %q: %s", opts.topic,
			strings.Join(res.Missing, ", "))
	}
	return nil
}

// newPoisonSubscriber reads whole topics from their oldest record, without
// a consumer group, with the project's Kafka settings and record format.
func newPoisonSubscriber(cfg config.Kafka, logger watermill.LoggerAdapter) (
	*kafka.Subscriber, error) {
	sc, err := publisher.SaramaConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("requeue: %w", err)
	}
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sub, err := kafka.NewSubscriber(kafka.SubscriberConfig{
		Brokers:               cfg.Brokers,
		Unmarshaler:           publisher.KafkaMarshaler{},
		OverwriteSaramaConfig: sc,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("requeue: kafka subscriber: %w", err)
	}
	return sub, nil
}

func printRequeue(cmd *cobra.Command, topic string, res inbox.RequeueResult) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "requeued %d message(s) from %q\n", len(res.Requeued), topic)
	for _, id := range res.Requeued {
		fmt.Fprintf(out, "  %s\n", id)
	}
	if len(res.Unroutable) > 0 {
		fmt.Fprintf(out, "left %d without original topic: %s\n", len(res.Unroutable),
			strings.Join(res.Unroutable, ", "))
	}
	if res.Skipped > 0 {
		fmt.Fprintf(out, "skipped %d (not selected or repeated)\n", res.Skipped)
	}
}

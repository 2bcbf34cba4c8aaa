package inbox

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// Metadata set on a message sent to the poison topic. The error, topic and
// handler keys are the ones Watermill's own PoisonQueue middleware uses, so
// tools written for it read ours too.
const (
	// MetadataPoisonError holds the last error, cut to maxErrorLen bytes.
	MetadataPoisonError = middleware.ReasonForPoisonedKey
	// MetadataPoisonTopic holds the topic the message was consumed from;
	// Requeue publishes the message back there.
	MetadataPoisonTopic = middleware.PoisonedTopicKey
	// MetadataPoisonHandler holds the name of the router handler.
	MetadataPoisonHandler = middleware.PoisonedHandlerKey
	// MetadataPoisonAttempts holds how many attempts ran the handler
	// (0 when the message had no valid key).
	MetadataPoisonAttempts = "poison_attempts"
	// MetadataPoisonedAt holds when the message was poisoned, RFC 3339 UTC.
	MetadataPoisonedAt = "poisoned_at"
	// MetadataPoisonGroup holds the inbox consumer group.
	MetadataPoisonGroup = "poison_consumer_group"
)

// poisonMetadata lists every key the poison path adds; Requeue removes them.
var poisonMetadata = []string{
	MetadataPoisonError, MetadataPoisonTopic, MetadataPoisonHandler,
	MetadataPoisonAttempts, MetadataPoisonedAt, MetadataPoisonGroup,
	middleware.PoisonedSubscriberKey,
}

const maxErrorLen = 4096

// giveUp sends the message to the poison topic and reports nil, so the
// message is acknowledged. If the poison topic cannot take it, the error is
// returned and the message is nacked instead: it is never dropped.
func (i *Inbox) giveUp(d *delivery, cause error, attempts int) error {
	p := d.msg.Copy()
	text := cause.Error()
	if len(text) > maxErrorLen {
		text = text[:maxErrorLen]
	}
	p.Metadata.Set(MetadataPoisonError, text)
	p.Metadata.Set(MetadataPoisonTopic, d.topic)
	p.Metadata.Set(MetadataPoisonHandler, d.handler)
	p.Metadata.Set(MetadataPoisonAttempts, strconv.Itoa(attempts))
	p.Metadata.Set(MetadataPoisonedAt, time.Now().UTC().Format(time.RFC3339Nano))
	p.Metadata.Set(MetadataPoisonGroup, d.group)
	if err := i.cfg.Publisher.Publish(i.cfg.PoisonTopic, p); err != nil {
		err = fmt.Errorf("inbox: message %q: publish to poison topic %q: %w (poisoned by: %w)",
			d.msg.UUID, i.cfg.PoisonTopic, err, cause)
		i.emit(d, EventFailed, attempts, err)
		return err
	}
	i.metrics.poisoned.WithLabelValues(d.group, d.handler).Inc()
	i.emit(d, EventPoisoned, attempts, cause)
	return nil
}

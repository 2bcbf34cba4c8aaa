package forwarder

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// DefaultSaramaConfig is the producer configuration the forwarder uses when
// Config.Kafka is nil: publisher.SaramaConfig of the project's default Kafka
// settings (protocol 3.6.0, every in-sync replica acknowledges, idempotent
// writes with one request in flight so retries keep order, the hash
// partitioner so one key always lands on one partition).
func DefaultSaramaConfig() *sarama.Config {
	c, err := publisher.SaramaConfig(config.Default().Kafka)
	if err != nil {
		panic(fmt.Sprintf("forwarder: default kafka config: %v", err)) // the defaults are valid
	}
	return c
}

// envelope is the JSON shape written by Watermill's components/forwarder
// publisher: the destination topic and the original message.
type envelope struct {
	DestinationTopic string            `json:"destination_topic"`
	UUID             string            `json:"uuid"`
	Payload          []byte            `json:"payload"`
	Metadata         map[string]string `json:"metadata"`
}

// errPermanent marks a row that can never be published.
var errPermanent = errors.New("forwarder: permanent failure")

// decodeEnvelope unwraps a row's payload, checking what Kafka and
// watermill-kafka's marshaler would refuse.
func decodeEnvelope(payload []byte) (envelope, error) {
	var e envelope
	if err := json.Unmarshal(payload, &e); err != nil {
		return e, fmt.Errorf("%w: envelope does not decode: %w", errPermanent, err)
	}
	if e.DestinationTopic == "" {
		return e, fmt.Errorf("%w: envelope has no destination topic", errPermanent)
	}
	if err := publisher.ValidateKafkaTopic(e.DestinationTopic); err != nil {
		return e, fmt.Errorf("%w: %w", errPermanent, err)
	}
	if _, ok := e.Metadata[kafka.UUIDHeaderKey]; ok {
		return e, fmt.Errorf("%w: metadata %s is reserved for the uuid", errPermanent,
			kafka.UUIDHeaderKey)
	}
	return e, nil
}

// producerMessage builds the Kafka record of an envelope the way
// watermill-kafka's default marshaler does (the UUID in the
// _watermill_message_uuid header, each metadata entry as a header), with the
// partition key metadata as the record key.
func producerMessage(e envelope, keyMetadata string, index int) *sarama.ProducerMessage {
	headers := make([]sarama.RecordHeader, 0, len(e.Metadata)+1)
	headers = append(headers, sarama.RecordHeader{
		Key: []byte(kafka.UUIDHeaderKey), Value: []byte(e.UUID),
	})
	keys := make([]string, 0, len(e.Metadata))
	for k := range e.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		headers = append(headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(e.Metadata[k])})
	}
	msg := &sarama.ProducerMessage{
		Topic:    e.DestinationTopic,
		Value:    sarama.ByteEncoder(e.Payload),
		Headers:  headers,
		Metadata: index,
	}
	if key, ok := e.Metadata[keyMetadata]; ok && key != "" {
		msg.Key = sarama.StringEncoder(key)
	}
	return msg
}

// permanentSendError reports whether Kafka refused a record for a reason a
// retry cannot fix.
func permanentSendError(err error) bool {
	var cfgErr sarama.ConfigurationError
	if errors.As(err, &cfgErr) {
		return true
	}
	for _, kerr := range []sarama.KError{
		sarama.ErrMessageSizeTooLarge, sarama.ErrInvalidTopic,
		sarama.ErrInvalidMessage, sarama.ErrTopicAuthorizationFailed,
		sarama.ErrInvalidRecord, sarama.ErrPolicyViolation,
	} {
		if errors.Is(err, kerr) {
			return true
		}
	}
	return strings.Contains(err.Error(), "larger than configured")
}

// sendErrors maps a SendMessages error to the failed records, by the index
// each record carries in its Metadata.
func sendErrors(err error, msgs []*sarama.ProducerMessage) map[int]error {
	out := map[int]error{}
	if err == nil {
		return out
	}
	var perrs sarama.ProducerErrors
	if !errors.As(err, &perrs) {
		return allFailed(msgs, err)
	}
	for _, pe := range perrs {
		idx, ok := -1, pe.Msg != nil
		if ok {
			idx, ok = pe.Msg.Metadata.(int)
		}
		if !ok { // not a record of ours: trust none of the batch
			return allFailed(msgs, pe.Err)
		}
		out[idx] = pe.Err
	}
	return out
}

func allFailed(msgs []*sarama.ProducerMessage, err error) map[int]error {
	out := make(map[int]error, len(msgs))
	for _, m := range msgs {
		out[m.Metadata.(int)] = err
	}
	return out
}

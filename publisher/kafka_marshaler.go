package publisher

import (
	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
)

// KafkaMarshaler converts between Watermill messages and Kafka records the
// way this project does: the UUID and every metadata entry travel as record
// headers (as watermill-kafka's DefaultMarshaler does), and the
// MetadataPartitionKey entry, when set, also becomes the record key, so the
// hash partitioner puts every message with one key on one partition.
//
// Unlike kafka.NewWithPartitioningMarshaler it leaves the record key nil for
// a message without a key: an empty key would be hashed too and send every
// unkeyed message to a single partition. When reading, a record with a key
// but no partition_key header (one written by another producer) gets its key
// copied into the metadata. Use it for subscribers of topics this package
// writes.
type KafkaMarshaler struct {
	kafka.DefaultMarshaler
}

var _ kafka.MarshalerUnmarshaler = KafkaMarshaler{}

// Marshal converts msg into a record for topic.
func (m KafkaMarshaler) Marshal(
	topic string, msg *message.Message,
) (*sarama.ProducerMessage, error) {
	rec, err := m.DefaultMarshaler.Marshal(topic, msg)
	if err != nil {
		return nil, err
	}
	if key := msg.Metadata.Get(MetadataPartitionKey); key != "" {
		rec.Key = sarama.StringEncoder(key)
	}
	return rec, nil
}

// Unmarshal converts a consumed record into a message.
func (m KafkaMarshaler) Unmarshal(rec *sarama.ConsumerMessage) (*message.Message, error) {
	msg, err := m.DefaultMarshaler.Unmarshal(rec)
	if err != nil {
		return nil, err
	}
	if len(rec.Key) > 0 && msg.Metadata.Get(MetadataPartitionKey) == "" {
		msg.Metadata.Set(MetadataPartitionKey, string(rec.Key))
	}
	return msg, nil
}

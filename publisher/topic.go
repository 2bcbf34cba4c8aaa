package publisher

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/watermill-outbox/watermill-outbox/internal/sqldialect"
)

// ErrInvalidTopic is returned, wrapped with the topic and the rule it broke,
// for a topic name that must not reach SQL or Kafka.
var ErrInvalidTopic = errors.New("invalid topic")

// MaxShards is the largest OutboxConfig.Shards: shard suffixes are at most
// "_99", which MaxSQLTopicLength leaves room for.
const MaxShards = 100

// MaxSQLTopicLength is the longest SQL topic ValidateTopic accepts. The
// longest name watermill-sql derives from a topic is its offsets table,
// "watermill_offsets_" + topic, and a sharded topic adds up to "_99"; the
// result must fit PostgreSQL's 63-byte identifier limit, beyond which
// PostgreSQL silently truncates and two topics could share one table.
const MaxSQLTopicLength = 63 - len("watermill_offsets_") - len("_99")

// MaxKafkaTopicLength is the longest topic name Kafka accepts.
const MaxKafkaTopicLength = 249

// sqlTopicDisallowed matches what watermill-sql refuses in a topic (its
// disallowedTopicCharacters): the topic is pasted into table names.
var sqlTopicDisallowed = regexp.MustCompile(`[^A-Za-z0-9\-$:._]`)

// kafkaTopicDisallowed matches what Kafka refuses in a topic name.
var kafkaTopicDisallowed = regexp.MustCompile(`[^a-zA-Z0-9._-]`)

// ValidateTopic checks an SQL topic (a name the outbox turns into tables)
// before any SQL is built from it: it must be non-empty, use only the
// characters watermill-sql allows (letters, digits, '-', '$', ':', '.',
// '_'), be at most MaxSQLTopicLength bytes, and not produce a table that
// belongs to another topic or to the outbox itself: a topic starting with
// "offsets_" would name another topic's offsets table, and
// "outbox_dead_letters" would name the dead-letter table.
func ValidateTopic(topic string) error {
	return validateSQLTopic(topic, MaxSQLTopicLength)
}

// maxTableTopicLength is the longest topic a table may be named after: an
// SQL topic as written, shard suffix included, not a base for shards.
const maxTableTopicLength = 63 - len("watermill_offsets_")

// validateSQLTopic is ValidateTopic with the length limit as a parameter:
// Migrate checks final topic names, which may use the room ValidateTopic
// keeps for a shard suffix.
func validateSQLTopic(topic string, maxLen int) error {
	switch {
	case topic == "":
		return invalidTopic("sql", topic, "empty")
	case sqlTopicDisallowed.MatchString(topic):
		return invalidTopic("sql", topic, "only A-Z a-z 0-9 - $ : . _ are allowed")
	case len(topic) > maxLen:
		return invalidTopic("sql", topic, fmt.Sprintf(
			"%d bytes, longer than %d: watermill_offsets_<topic>_NN must fit 63 bytes",
			len(topic), maxLen))
	case strings.HasPrefix(strings.ToLower(topic), "offsets_"):
		return invalidTopic("sql", topic, `the prefix "offsets_" clashes with offsets tables`)
	case "watermill_"+strings.ToLower(topic) == sqldialect.DeadLetterTable:
		return invalidTopic("sql", topic, "reserved for the dead-letter table")
	}
	return nil
}

// ValidateKafkaTopic checks a destination (Kafka) topic by Kafka's own
// rules: non-empty, only [a-zA-Z0-9._-], at most 249 bytes, and neither
// "." nor "..".
func ValidateKafkaTopic(topic string) error {
	switch {
	case topic == "":
		return invalidTopic("kafka", topic, "empty")
	case topic == "." || topic == "..":
		return invalidTopic("kafka", topic, `"." and ".." are not allowed`)
	case kafkaTopicDisallowed.MatchString(topic):
		return invalidTopic("kafka", topic, "only a-z A-Z 0-9 . _ - are allowed")
	case len(topic) > MaxKafkaTopicLength:
		return invalidTopic("kafka", topic, fmt.Sprintf("%d bytes, longer than %d",
			len(topic), MaxKafkaTopicLength))
	}
	return nil
}

func invalidTopic(kind, topic, rule string) error {
	return fmt.Errorf("publisher: %s topic %q: %s: %w", kind, topic, rule, ErrInvalidTopic)
}

package publisher

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestValidateTopic(t *testing.T) {
	valid := []string{"outbox", "outbox_0", "a.b-c:d$e", strings.Repeat("x", MaxSQLTopicLength)}
	for _, topic := range valid {
		if err := ValidateTopic(topic); err != nil {
			t.Errorf("ValidateTopic(%q) = %v, want nil", topic, err)
		}
	}
	invalid := map[string]string{
		"":                                       "empty",
		"a;DROP TABLE x":                         "only A-Z",
		"a'b":                                    "only A-Z",
		`a"b`:                                    "only A-Z",
		"a`b":                                    "only A-Z",
		"with space":                             "only A-Z",
		"ünïcode":                                "only A-Z",
		strings.Repeat("x", 200):                 "longer than",
		strings.Repeat("x", MaxSQLTopicLength+1): "longer than",
		"offsets_outbox":                         "offsets_",
		"outbox_dead_letters":                    "dead-letter",
	}
	for topic, rule := range invalid {
		err := ValidateTopic(topic)
		if !errors.Is(err, ErrInvalidTopic) {
			t.Errorf("ValidateTopic(%q) = %v, want ErrInvalidTopic", topic, err)
			continue
		}
		mustContain(t, err, rule, "sql topic")
		if !strings.Contains(err.Error(), strconv.Quote(topic)) {
			t.Errorf("error %q does not name the topic %q", err, topic)
		}
	}
}

func TestMaxSQLTopicLengthFitsPostgres(t *testing.T) {
	longest := "watermill_offsets_" + strings.Repeat("x", MaxSQLTopicLength) + "_99"
	if len(longest) != 63 {
		t.Fatalf("longest derived identifier is %d bytes, want 63", len(longest))
	}
	if len(NotifyChannel(strings.Repeat("x", MaxSQLTopicLength))) > 63 {
		t.Fatalf("notify channel of the longest topic exceeds 63 bytes")
	}
}

func TestValidateKafkaTopic(t *testing.T) {
	valid := []string{"orders", "orders.v1", "a_b-c", strings.Repeat("k", MaxKafkaTopicLength)}
	for _, topic := range valid {
		if err := ValidateKafkaTopic(topic); err != nil {
			t.Errorf("ValidateKafkaTopic(%q) = %v, want nil", topic, err)
		}
	}
	invalid := []string{"", ".", "..", "a b", "a;DROP TABLE x", "a'b", "a:b", "a$b",
		strings.Repeat("k", MaxKafkaTopicLength+1)}
	for _, topic := range invalid {
		err := ValidateKafkaTopic(topic)
		if !errors.Is(err, ErrInvalidTopic) {
			t.Errorf("ValidateKafkaTopic(%q) = %v, want ErrInvalidTopic", topic, err)
			continue
		}
		mustContain(t, err, "kafka topic")
	}
}

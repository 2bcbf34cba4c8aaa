package publisher

import (
	"fmt"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

func TestShardTopicIsStableAndInRange(t *testing.T) {
	const shards = 8
	valid := map[string]bool{}
	for _, s := range ShardTopics("outbox", shards) {
		valid[s] = true
	}
	if len(valid) != shards {
		t.Fatalf("ShardTopics gave %d distinct topics, want %d", len(valid), shards)
	}
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		key := fmt.Sprintf("customer-%d", i)
		first := ShardTopic("outbox", shards, key)
		if !valid[first] {
			t.Fatalf("ShardTopic(%q) = %q, not one of the shard topics", key, first)
		}
		for j := 0; j < 3; j++ {
			if again := ShardTopic("outbox", shards, key); again != first {
				t.Fatalf("key %q went to %q then %q", key, first, again)
			}
		}
		seen[first] = true
	}
	if len(seen) != shards {
		t.Fatalf("1000 keys used %d of %d shards", len(seen), shards)
	}
}

func TestShardTopicKnownValues(t *testing.T) {
	// FNV-1a 32 of "a" is 0xe40c292c; mod 8 = 4. Pinned so that a change
	// of hash, which would reorder keys across a running outbox, is seen.
	if got := ShardTopic("outbox", 8, "a"); got != "outbox_4" {
		t.Fatalf(`ShardTopic("outbox", 8, "a") = %q, want outbox_4`, got)
	}
	if got := ShardTopic("outbox", 1, "a"); got != "outbox" {
		t.Fatalf("one shard: got %q, want the base topic", got)
	}
	if got := ShardTopics("outbox", 1); len(got) != 1 || got[0] != "outbox" {
		t.Fatalf("ShardTopics one shard = %v", got)
	}
}

// TestOutboxSpreadsKeylessMessages checks the documented choice: a message
// without a partition key is placed by its UUID, so keyless messages use
// several shards, while keyed ones follow their key.
func TestOutboxSpreadsKeylessMessages(t *testing.T) {
	o := newTestOutbox(t, OutboxConfig{Shards: 4})
	var msgs []*message.Message
	for i := 0; i < 40; i++ {
		msgs = append(msgs, message.NewMessage(watermill.NewUUID(), nil))
	}
	keyed := message.NewMessage(watermill.NewUUID(), nil)
	keyed.Metadata.Set(MetadataPartitionKey, "a")
	batches := o.split(append(msgs, keyed))
	if len(batches) < 2 {
		t.Fatalf("40 keyless messages went to %d shard(s)", len(batches))
	}
	total := 0
	for _, b := range batches {
		total += len(b.msgs)
		for _, m := range b.msgs {
			if m == keyed && b.sqlTopic != ShardTopic("outbox", 4, "a") {
				t.Fatalf("keyed message in %s, want the shard of its key", b.sqlTopic)
			}
		}
	}
	if total != 41 {
		t.Fatalf("batches hold %d messages, want 41", total)
	}
}

package publisher

import (
	"hash/fnv"
	"strconv"
)

// ShardTopic returns the SQL topic that a message with the given key goes
// to, for an outbox of the given base topic split into shards. The shard is
// the 32-bit FNV-1a hash of key modulo shards, so it depends only on the
// key and the shard count: the forwarder can compute it the same way, and
// every message with one key lands in one shard, in commit order.
//
// With shards <= 1 it returns base unchanged. Changing the shard count
// moves keys between shards, so it is only safe with the outbox drained.
//
// The Outbox passes a message's partition key, and for a message without
// one its UUID: such messages promise no order, and hashing the UUID
// spreads them over the shards instead of piling them onto one.
func ShardTopic(base string, shards int, key string) string {
	if shards <= 1 {
		return base
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return shardName(base, int(h.Sum32()%uint32(shards)))
}

// ShardTopics lists every SQL topic of an outbox: base alone when shards
// <= 1, otherwise base_0 up to base_<shards-1>. Migrate needs all of them.
func ShardTopics(base string, shards int) []string {
	if shards <= 1 {
		return []string{base}
	}
	topics := make([]string, shards)
	for i := range topics {
		topics[i] = shardName(base, i)
	}
	return topics
}

func shardName(base string, shard int) string {
	return base + "_" + strconv.Itoa(shard)
}

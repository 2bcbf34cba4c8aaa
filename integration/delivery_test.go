package integration

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// storedEnvelope is the part of Watermill's forwarder envelope, as stored in
// an outbox row's payload, that the checks need.
type storedEnvelope struct {
	UUID string `json:"uuid"`
}

// ackedUUIDs returns the message UUIDs of the outbox rows at or before the
// position the consumer group has acknowledged.
func ackedUUIDs(t testing.TB, db *testenv.DB, group string) map[string]bool {
	t.Helper()
	q := `SELECT m.payload FROM watermill_outbox m, watermill_offsets_outbox o
		WHERE o.consumer_group = $1 AND (m.transaction_id, m."offset") <=
			(o.last_processed_transaction_id, COALESCE(o.offset_acked, 0))`
	if db.Dialect == "mysql" {
		q = "SELECT m.payload FROM watermill_outbox m, watermill_offsets_outbox o " +
			"WHERE o.consumer_group = ? AND m.`offset` <= COALESCE(o.offset_acked, 0)"
	}
	rows, err := db.DB.Query(q, group)
	if err != nil {
		t.Fatalf("read acknowledged rows: %v", err)
	}
	defer rows.Close()
	out := make(map[string]bool)
	for rows.Next() {
		var payload []byte
		var env storedEnvelope
		if err := rows.Scan(&payload); err != nil {
			t.Fatalf("scan acknowledged row: %v", err)
		}
		if err := json.Unmarshal(payload, &env); err != nil {
			t.Fatalf("decode envelope %q: %v", payload, err)
		}
		out[env.UUID] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read acknowledged rows: %v", err)
	}
	return out
}

// waitForAll waits until the topic holds every UUID of sent, reading it
// whole each time it has at least len(sent) records, and returns what it
// read last.
func waitForAll(t testing.TB, brokers []string, topic string, sent map[string]string,
	wait time.Duration) []record {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		left := time.Until(deadline)
		_, err := waitForRecords(t.Context(), brokers, topic, int64(len(sent)), max(left, 0))
		if err != nil {
			t.Fatalf("wait for all %d messages: %v", len(sent), err)
		}
		recs := readTopic(t, brokers, topic, 30*time.Second)
		missing := missingUUIDs(recs, sent)
		if len(missing) == 0 {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages never reached kafka, e.g. %v",
				len(missing), len(sent), missing[:min(3, len(missing))])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func missingUUIDs(recs []record, sent map[string]string) []string {
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		seen[r.UUID] = true
	}
	var missing []string
	for id := range sent {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	return missing
}

// checkRecords fails the test for any record that was never committed or
// whose payload differs from the committed one (so a duplicate is the same
// message again), and returns how many records were duplicates.
func checkRecords(t testing.TB, recs []record, sent map[string]string) int {
	t.Helper()
	seen := make(map[string]int, len(recs))
	for _, r := range recs {
		want, ok := sent[r.UUID]
		if !ok {
			t.Errorf("record %d/%d has uuid %q that was never committed",
				r.Partition, r.Offset, r.UUID)
			continue
		}
		if r.Payload != want {
			t.Errorf("record %d/%d of %s: payload %q, committed %q",
				r.Partition, r.Offset, r.UUID, r.Payload, want)
		}
		seen[r.UUID]++
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	return dups
}

// requireSubset fails unless every UUID of want is among recs.
func requireSubset(t testing.TB, want map[string]bool, recs []record, what string) {
	t.Helper()
	have := make(map[string]bool, len(recs))
	for _, r := range recs {
		have[r.UUID] = true
	}
	var missing []string
	for id := range want {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%s: %d of %d not in kafka, e.g. %s", what, len(missing), len(want),
			fmt.Sprint(missing[:min(3, len(missing))]))
	}
}

package integration

import (
	"context"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// brokerDowntime is how long the broker stays down.
const brokerDowntime = 5 * time.Second

// TestBrokerDownFiveSeconds kills the standalone broker (SIGKILL; it keeps
// its records in a data directory) while our forwarder drains a PostgreSQL
// outbox in this process, keeps it down for 5 s and starts it again on the
// same port and directory. While the broker is down the acknowledged
// position may only take in rows of the batch that was in flight at the
// kill (records Kafka confirmed before it died, acknowledged once the rest
// of their batch has failed); every row acknowledged by then must be in Kafka
// after the restart (it was confirmed before it was acknowledged, since an
// acknowledged row is never sent again); and in the end every committed
// message arrives, duplicates being the same message.
func TestBrokerDownFiveSeconds(t *testing.T) {
	testBrokerDown(t, implBatch)
}

func testBrokerDown(t *testing.T, impl string) {
	if testenv.RealKafka() {
		t.Skip("stops and restarts the embedded broker; KAFKA_BROKERS names a real cluster")
	}
	dir := t.TempDir()
	broker, addr := brokerProcess(t, 0, dir)
	brokers := []string{addr}
	topic := newTopic(t, brokers)
	db := testenv.Postgres(t)
	migrateOutbox(t, db.DB, db.Dialect)
	sent := fillOutbox(t, db.DB, db.Dialect, topic, 5000)
	fwd, err := startForwarder(forwarderSpec{Impl: impl, Brokers: brokers,
		BatchSize: outageBatch}, db)
	if err != nil {
		t.Fatalf("start forwarder: %v", err)
	}
	defer stopForwarder(t, fwd)
	ctx := context.Background()
	if _, err := waitForRecords(ctx, brokers, topic, 100, 30*time.Second); err != nil {
		t.Fatalf("first records: %v", err)
	}
	broker.signal(t, syscall.SIGKILL)
	acked := noAcksWhileDown(t, db, consumerGroup(impl))
	if len(acked) == len(sent) {
		t.Logf("everything was acknowledged before the broker went down: the test proves less")
	}
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	brokerProcess(t, p, dir)
	afterRestart := readTopic(t, brokers, topic, 30*time.Second)
	requireSubset(t, acked, afterRestart, "rows acked before the outage")
	recs := waitForAll(t, brokers, topic, sent, 90*time.Second)
	dups := checkRecords(t, recs, sent)
	t.Logf("%d acknowledged before the outage, %d records, %d duplicates",
		len(acked), len(recs), dups)
}

// outageBatch is the forwarder's batch size in the outage test.
const outageBatch = 50

// noAcksWhileDown samples the acknowledged rows shortly after the broker
// went down and again at the end of the downtime. Between the two the
// position may grow only by rows of the batch in flight at the kill, which
// Kafka confirmed before it died: at most one batch. Anything more would be
// an acknowledgement of records no broker confirmed. Whether the rows
// acknowledged are really in Kafka is checked after the restart.
func noAcksWhileDown(t *testing.T, db *testenv.DB, group string) map[string]bool {
	t.Helper()
	start := time.Now()
	time.Sleep(time.Second) // let most sends in flight at the kill fail
	first := ackedUUIDs(t, db, group)
	time.Sleep(brokerDowntime - time.Since(start))
	last := ackedUUIDs(t, db, group)
	for id := range first {
		if !last[id] {
			t.Fatalf("row %s was acknowledged and then no longer", id)
		}
	}
	if len(last) > len(first)+outageBatch {
		t.Fatalf("acknowledged rows went from %d to %d while the broker was down, "+
			"more than the one batch of %d in flight", len(first), len(last), outageBatch)
	}
	if len(last) != len(first) {
		t.Logf("%d rows of the batch in flight were acknowledged during the outage",
			len(last)-len(first))
	}
	return last
}

package publisher

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/config"
)

func TestOutboxRollbackLeavesNoRows(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		db := migratedDB(t, dialect)
		o := newTestOutbox(t, OutboxConfig{Dialect: dialect})
		tx := beginTx(t, db)
		msg := newMsg("11111111-1111-1111-1111-111111111111", `{"n":1}`, nil)
		if err := o.Publish(testCtx(t), tx, "orders", msg); err != nil {
			t.Fatalf("publish: %v", err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		if rows := readOutbox(t, db, dialect, "outbox"); len(rows) != 0 {
			t.Fatalf("rolled-back tx left %d rows", len(rows))
		}
	})
}

func TestOutboxCommitWritesEnvelopes(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		db := migratedDB(t, dialect)
		o := newTestOutbox(t, OutboxConfig{Dialect: dialect})
		var sent []*message.Message
		for i := 0; i < 3; i++ {
			sent = append(sent, newMsg("00000000-0000-0000-0000-00000000000"+strconv.Itoa(i),
				`{"n":`+strconv.Itoa(i)+`}`,
				map[string]string{MetadataPartitionKey: "cust-7", "i": strconv.Itoa(i)}))
		}
		tx := beginTx(t, db)
		if err := o.Publish(testCtx(t), tx, "orders.v1", sent[:2]...); err != nil {
			t.Fatalf("publish: %v", err)
		}
		if err := o.Publish(testCtx(t), tx, "orders.v1", sent[2]); err != nil {
			t.Fatalf("publish: %v", err)
		}
		if len(readOutbox(t, db, dialect, "outbox")) != 0 {
			t.Fatalf("rows visible before commit")
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit: %v", err)
		}
		assertEnvelopes(t, readOutbox(t, db, dialect, "outbox"), "orders.v1", sent)
	})
}

// assertEnvelopes checks that rows hold exactly msgs, in order, for topic.
func assertEnvelopes(t *testing.T, rows []envelopeRow, topic string, msgs []*message.Message) {
	t.Helper()
	if len(rows) != len(msgs) {
		t.Fatalf("%d rows, want %d", len(rows), len(msgs))
	}
	for i, m := range msgs {
		e := rows[i].Envelope
		if e.DestinationTopic != topic || e.UUID != m.UUID ||
			string(e.Payload) != string(m.Payload) {
			t.Errorf("row %d = {%s %s %s}, want {%s %s %s}", i, e.DestinationTopic, e.UUID,
				e.Payload, topic, m.UUID, m.Payload)
		}
		if !reflect.DeepEqual(e.Metadata, map[string]string(m.Metadata)) {
			t.Errorf("row %d metadata = %v, want %v", i, e.Metadata, m.Metadata)
		}
		if rows[i].RowUUID == m.UUID || rows[i].RowUUID == "" {
			t.Errorf("row %d: envelope row uuid %q should be its own", i, rows[i].RowUUID)
		}
	}
}

func TestOutboxWithoutTransaction(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		db := migratedDB(t, dialect)
		woken := map[string]int{}
		o := newTestOutbox(t, OutboxConfig{Dialect: dialect,
			Notifier: NotifierFunc(func(s string) { woken[s]++ })})
		msg := newMsg("22222222-2222-2222-2222-222222222222", `{}`, nil)
		err := o.Publish(testCtx(t), nil, "orders", msg)
		if !errors.Is(err, ErrNoTransaction) {
			t.Fatalf("Publish(nil tx) = %v, want ErrNoTransaction", err)
		}
		if err := o.Publisher(nil).Publish("orders", msg); !errors.Is(err, ErrNoTransaction) {
			t.Fatalf("Publisher(nil).Publish = %v, want ErrNoTransaction", err)
		}
		if n := len(readOutbox(t, db, dialect, "outbox")); n != 0 || len(woken) != 0 {
			t.Fatalf("rejected publish left %d rows and %d wake-ups", n, len(woken))
		}
		if err := o.PublishNoTx(testCtx(t), db, "orders", msg); err != nil {
			t.Fatalf("PublishNoTx: %v", err)
		}
		assertEnvelopes(t, readOutbox(t, db, dialect, "outbox"), "orders", []*message.Message{msg})
		if woken["outbox"] != 1 {
			t.Fatalf("PublishNoTx wake-ups = %v, want outbox once", woken)
		}
	})
}

func TestOutboxRejectsInvalidKafkaTopicBeforeSQL(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		db := migratedDB(t, dialect)
		o := newTestOutbox(t, OutboxConfig{Dialect: dialect})
		tripDB, opened := tripwireDB(t)
		tx := beginTx(t, db)
		bad := []string{"", "a;DROP TABLE x", "a'b", "with space", string(make([]byte, 250)), ".."}
		for _, topic := range bad {
			err := o.Publish(testCtx(t), tx, topic, newMsg("x", "{}", nil))
			if !errors.Is(err, ErrInvalidTopic) {
				t.Fatalf("Publish(%q) = %v, want ErrInvalidTopic", topic, err)
			}
			mustContain(t, err, strconv.Quote(topic))
		}
		err := o.PublishNoTx(testCtx(t), tripDB, bad[1], newMsg("x", "{}", nil))
		if !errors.Is(err, ErrInvalidTopic) || opened.Load() != 0 {
			t.Fatalf("PublishNoTx(%q) = %v after %d connections, want ErrInvalidTopic and none",
				bad[1], err, opened.Load())
		}
		// No statement ran: on PostgreSQL a failed one would have aborted tx.
		ok := newMsg("33333333-3333-3333-3333-333333333333", "{}", nil)
		if err := o.Publish(testCtx(t), tx, "orders", ok); err != nil {
			t.Fatalf("tx unusable after rejected topics: %v", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit: %v", err)
		}
		assertEnvelopes(t, readOutbox(t, db, dialect, "outbox"), "orders", []*message.Message{ok})
	})
}

func TestOutboxPublisherIsBoundToTx(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		db := migratedDB(t, dialect)
		o := newTestOutbox(t, OutboxConfig{Dialect: dialect})
		tx := beginTx(t, db)
		var pub message.Publisher = o.Publisher(tx)
		msg := newMsg("44444444-4444-4444-4444-444444444444", `{"a":1}`,
			map[string]string{"k": "v"})
		if err := pub.Publish("orders", msg); err != nil {
			t.Fatalf("publish: %v", err)
		}
		if err := pub.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit after Close: %v", err)
		}
		assertEnvelopes(t, readOutbox(t, db, dialect, "outbox"), "orders", []*message.Message{msg})
	})
}

func TestOutboxCancelledContextWritesNothing(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		db := migratedDB(t, dialect)
		o := newTestOutbox(t, OutboxConfig{Dialect: dialect})
		tx := beginTx(t, db)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := o.Publish(ctx, tx, "orders", newMsg("x", "{}", nil))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Publish with cancelled ctx = %v, want context.Canceled", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit after cancelled publish: %v", err)
		}
		if rows := readOutbox(t, db, dialect, "outbox"); len(rows) != 0 {
			t.Fatalf("cancelled publish left %d rows", len(rows))
		}
	})
}

func TestOutboxShardsKeepKeysTogether(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		const shards = 4
		db := migratedDB(t, dialect, ShardTopics("outbox", shards)...)
		o := newTestOutbox(t, OutboxConfig{Dialect: dialect, Shards: shards})
		want := map[string][]*message.Message{}
		tx := beginTx(t, db)
		for i := 0; i < 40; i++ {
			key := "key-" + strconv.Itoa(i%8)
			m := newMsg("55555555-0000-0000-0000-0000000000"+strconv.Itoa(10+i), `{}`,
				map[string]string{MetadataPartitionKey: key})
			shard := ShardTopic("outbox", shards, key)
			want[shard] = append(want[shard], m)
			if err := o.Publish(testCtx(t), tx, "orders", m); err != nil {
				t.Fatalf("publish: %v", err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit: %v", err)
		}
		if len(want) < 2 {
			t.Fatalf("8 keys landed in %d shard(s); the test needs several", len(want))
		}
		for _, s := range ShardTopics("outbox", shards) {
			assertEnvelopes(t, readOutbox(t, db, dialect, s), "orders", want[s])
		}
	})
}

func TestOutboxNotifyWakesEveryShard(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	woken := map[string]int{}
	o := newTestOutbox(t, OutboxConfig{Shards: 3, Notifier: NotifierFunc(func(s string) {
		mu.Lock()
		defer mu.Unlock()
		woken[s]++
	})})
	o.Notify()
	want := map[string]int{"outbox_0": 1, "outbox_1": 1, "outbox_2": 1}
	if !reflect.DeepEqual(woken, want) {
		t.Fatalf("woken = %v, want %v", woken, want)
	}
	newTestOutbox(t, OutboxConfig{}).Notify() // no Notifier: nothing to do, no panic
}

func TestNewOutboxListsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := NewOutbox(OutboxConfig{Dialect: "oracle", ForwarderTopic: "a b", Shards: 101}, nil)
	mustContain(t, err, `"oracle"`, `"a b"`, "101")
	if !errors.Is(err, ErrInvalidTopic) {
		t.Fatalf("error %v does not wrap ErrInvalidTopic", err)
	}
	o, err := NewOutbox(OutboxConfig{}, nil)
	if err != nil {
		t.Fatalf("zero config: %v", err)
	}
	c := o.Config()
	if c.Dialect != "postgres" || c.ForwarderTopic != "outbox" || c.Shards != 1 ||
		c.PartitionKeyMetadata != MetadataPartitionKey {
		t.Fatalf("defaults = %+v", c)
	}
}

type orderPlaced struct {
	OrderID string `json:"order_id"`
}

// TestOutboxUnderEventPublisher drives the outbox through the typed
// EventPublisher, as services do: the key it sets picks the shard.
func TestOutboxUnderEventPublisher(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		db := migratedDB(t, dialect, ShardTopics("outbox", 2)...)
		o := newTestOutbox(t, OutboxConfig{Dialect: dialect, Shards: 2})
		tx := beginTx(t, db)
		events, err := NewEventPublisher(o.Publisher(tx), EventPublisherConfig{}, nil)
		if err != nil {
			t.Fatalf("event publisher: %v", err)
		}
		err = events.Publish(testCtx(t), "orders", orderPlaced{OrderID: "o-1"},
			WithPartitionKey("cust-9"))
		if err != nil {
			t.Fatalf("publish event: %v", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit: %v", err)
		}
		rows := readOutbox(t, db, dialect, ShardTopic("outbox", 2, "cust-9"))
		if len(rows) != 1 {
			t.Fatalf("%d rows in the key's shard, want 1", len(rows))
		}
		e := rows[0].Envelope
		if e.DestinationTopic != "orders" || e.Metadata[MetadataPartitionKey] != "cust-9" ||
			e.Metadata[MetadataEventType] != "orderPlaced" ||
			!strings.Contains(string(e.Payload), "o-1") {
			t.Fatalf("envelope = %+v", e)
		}
	})
}

func TestOutboxConfigFrom(t *testing.T) {
	c := config.Default()
	c.SQL.Dialect, c.Outbox.Topic, c.Outbox.Shards = "mysql", "svc_outbox", 4
	got := OutboxConfigFrom(c)
	if got.Dialect != "mysql" || got.ForwarderTopic != "svc_outbox" || got.Shards != 4 {
		t.Fatalf("OutboxConfigFrom = %+v", got)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
}

// TestOutboxConcurrentTransactions publishes from several goroutines, each
// in its own transactions, rolling back every other one: exactly the
// committed messages are in the outbox.
func TestOutboxConcurrentTransactions(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		db := migratedDB(t, dialect, ShardTopics("outbox", 2)...)
		o := newTestOutbox(t, OutboxConfig{Dialect: dialect, Shards: 2})
		const workers, txs = 6, 10
		var mu sync.Mutex
		committed := map[string]bool{}
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < txs; i++ {
					id := watermill.NewUUID()
					commit := i%2 == 0
					if err := publishOne(testCtx(t), db, o, id, commit); err != nil {
						t.Errorf("worker %d tx %d: %v", w, i, err)
						return
					}
					if commit {
						mu.Lock()
						committed[id] = true
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		found := map[string]bool{}
		for _, s := range ShardTopics("outbox", 2) {
			for _, r := range readOutbox(t, db, dialect, s) {
				found[r.Envelope.UUID] = true
			}
		}
		if len(committed) != workers*txs/2 || !reflect.DeepEqual(found, committed) {
			t.Fatalf("outbox holds %d messages, %d were committed", len(found), len(committed))
		}
	})
}

func publishOne(ctx context.Context, db *sql.DB, o *Outbox, id string, commit bool) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	msg := newMsg(id, "{}", map[string]string{MetadataPartitionKey: id[:4]})
	if err := o.Publish(ctx, tx, "orders", msg); err != nil {
		_ = tx.Rollback()
		return err
	}
	if commit {
		return tx.Commit()
	}
	return tx.Rollback()
}

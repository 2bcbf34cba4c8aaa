package router_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/router"
)

// chainCase is one kind of handler behaviour and what the chain must make
// of it with MaxAttempts 3: how many transactions are begun, which attempt
// commits (0: none) and whether the message ends in the poison topic.
type chainCase struct {
	payload  string
	begun    int
	commit   int
	poisoned bool
}

var chainCases = []chainCase{
	{"ok", 1, 1, false},
	{"flaky", 3, 3, false},    // fails twice, then succeeds
	{"panic", 3, 0, true},     // panics on every attempt
	{"slow", 2, 2, false},     // first attempt waits for its deadline
	{"overrun", 2, 2, false},  // first attempt ignores ctx, returns nil late
	{"permanent", 1, 0, true}, // marked inbox.Permanent: no retry
}

const chainTimeout = 150 * time.Millisecond

// chainHandler writes an effect row through the inbox transaction on every
// attempt, then behaves as its payload says. freshCtx counts second
// attempts of "slow" that started with a live context.
func chainHandler(e *effects, freshCtx *atomic.Int32) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		ctx := msg.Context()
		tx, ok := inbox.TxFromContext(ctx)
		if !ok {
			return errors.New("no inbox transaction")
		}
		n, err := e.begin(ctx, tx, msg.UUID)
		if err != nil {
			return err
		}
		return behave(ctx, string(msg.Payload), n, freshCtx)
	}
}

func behave(ctx context.Context, payload string, attempt int, freshCtx *atomic.Int32) error {
	switch payload {
	case "flaky":
		if attempt < 3 {
			return errors.New("flaky failure")
		}
	case "panic":
		panic("handler exploded")
	case "slow":
		if attempt == 1 {
			<-ctx.Done()
			return ctx.Err()
		}
		if ctx.Err() == nil {
			freshCtx.Add(1)
		}
	case "overrun":
		if attempt == 1 {
			time.Sleep(2 * chainTimeout)
		}
	case "permanent":
		return inbox.Permanent(errors.New("bad input"))
	}
	return nil
}

// TestChainTransactions runs failing, panicking and timing-out handlers
// through the whole standard chain with the inbox on, and counts the
// transactions each message began, committed and rolled back: every
// attempt must get a fresh transaction (retry outside the inbox), the
// timeout must bound each attempt without leaking into the next, and a
// panic must be retried and poisoned like an error.
func TestChainTransactions(t *testing.T) {
	forDialects(t, func(t *testing.T, db *testenv.DB) {
		b := gochannel(t)
		e := newEffects(t, db)
		c := baseConfig(b, db)
		c.Router.HandlerTimeout = chainTimeout
		r := newRouter(t, c)
		var fresh atomic.Int32
		topic := testenv.Unique("chain_")
		if err := r.AddHandler("chain", topic, chainHandler(e, &fresh)); err != nil {
			t.Fatal(err)
		}
		run(t, r)
		uuids := map[string]chainCase{}
		for _, cc := range chainCases {
			m := newMsg(cc.payload)
			uuids[m.UUID] = cc
			publish(t, b.Publisher, topic, m)
		}
		poison := poisonReasons(collect(t, b.Subscriber, c.Inbox.PoisonTopic, 2, 20*time.Second))
		for uuid, cc := range uuids {
			if cc.commit > 0 {
				waitFor(t, 20*time.Second, cc.payload+" committed", func() bool {
					return len(e.committed(t, uuid)) > 0
				})
			}
		}
		for uuid, cc := range uuids {
			checkChainCase(t, e, uuid, cc, poison)
		}
		if fresh.Load() != 1 {
			t.Errorf("second attempt of slow started with an expired context")
		}
	})
}

func checkChainCase(t *testing.T, e *effects, uuid string, cc chainCase, poison map[string]string) {
	t.Helper()
	begun, committed := e.begunOf(uuid), e.committed(t, uuid)
	want := []int{}
	if cc.commit > 0 {
		want = []int{cc.commit}
	}
	if committed == nil {
		committed = []int{}
	}
	rolledBack := begun - len(committed)
	t.Logf("%-9s begun %d, committed %v, rolled back %d", cc.payload, begun, committed, rolledBack)
	if begun != cc.begun || !slices.Equal(committed, want) {
		t.Errorf("%s: begun %d, committed attempts %v; want %d, %v",
			cc.payload, begun, committed, cc.begun, want)
	}
	if _, ok := poison[uuid]; ok != cc.poisoned {
		t.Errorf("%s: poisoned = %v, want %v", cc.payload, ok, cc.poisoned)
	}
	switch cc.payload {
	case "panic":
		mustContain(t, "panic poison reason", poison[uuid], "handler exploded")
	case "permanent":
		mustContain(t, "permanent poison reason", poison[uuid], "bad input")
	}
}

// TestChainWithoutInbox runs the same behaviours with the inbox off:
// Watermill's Retry and PoisonQueue take over with the same bounds, and
// the attempt counts and poisoned messages must match.
func TestChainWithoutInbox(t *testing.T) {
	b := gochannel(t)
	c := baseConfig(b, nil)
	c.Router.HandlerTimeout = chainTimeout
	r := newRouter(t, c)
	var mu = make(chan struct{}, 1)
	attempts := map[string]int{}
	var fresh atomic.Int32
	topic := testenv.Unique("chain_")
	err := r.AddHandler("chain", topic, func(msg *message.Message) error {
		mu <- struct{}{}
		attempts[msg.UUID]++
		n := attempts[msg.UUID]
		<-mu
		return behave(msg.Context(), string(msg.Payload), n, &fresh)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.MiddlewareOrder(); !slices.Contains(got, router.NameRetry) ||
		!slices.Contains(got, router.NamePoison) || slices.Contains(got, router.NameInbox) {
		t.Fatalf("order without inbox = %v", got)
	}
	run(t, r)
	uuids := map[string]chainCase{}
	for _, cc := range chainCases {
		m := newMsg(cc.payload)
		uuids[m.UUID] = cc
		publish(t, b.Publisher, topic, m)
	}
	poison := poisonReasons(collect(t, b.Subscriber, c.Inbox.PoisonTopic, 2, 20*time.Second))
	waitFor(t, 20*time.Second, "every message handled", func() bool {
		mu <- struct{}{}
		defer func() { <-mu }()
		n := 0
		for uuid, cc := range uuids {
			if attempts[uuid] >= cc.begun {
				n++
			}
		}
		return n == len(uuids)
	})
	time.Sleep(50 * time.Millisecond) // an extra attempt would show up now
	mu <- struct{}{}
	defer func() { <-mu }()
	for uuid, cc := range uuids {
		if attempts[uuid] != cc.begun {
			t.Errorf("%s: %d attempts, want %d", cc.payload, attempts[uuid], cc.begun)
		}
		if _, ok := poison[uuid]; ok != cc.poisoned {
			t.Errorf("%s: poisoned = %v, want %v", cc.payload, ok, cc.poisoned)
		}
	}
}

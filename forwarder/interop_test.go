package forwarder_test

import (
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/forwarder"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// TestBatchDrainsStockRows: rows written by Watermill's stock forwarder
// publisher over watermill-sql drain through the batch mode.
func TestBatchDrainsStockRows(t *testing.T) {
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, 1, 2)
			sent := []*message.Message{msg("a", 1), msg("b", 2), msg("a", 3)}
			e.stockPublish(e.kafka, sent...)
			start(t, e.config())
			expectUUIDs(t, e, sent, 3)
		})
	}
}

// TestSwitchingModesContinuesFromTheOffset runs the component mode, then the
// batch mode, then the component mode again on one outbox written by the
// project's publisher: each continues where the previous one stopped, so
// every message is sent exactly once.
func TestSwitchingModesContinuesFromTheOffset(t *testing.T) {
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) { testSwitchModes(t, d) })
	}
}

func testSwitchModes(t *testing.T, dialect string) {
	e := newEnv(t, dialect, 1, 2)
	var sent []*message.Message
	for round, mode := range []forwarder.Mode{forwarder.ModeComponent, forwarder.ModeBatch,
		forwarder.ModeComponent} {
		batch := []*message.Message{msg("a", 3*round), msg("b", 3*round+1), msg("a", 3*round+2)}
		e.publish(e.outbox, batch...)
		sent = append(sent, batch...)
		cfg := e.config()
		cfg.Mode = mode
		f, err := forwarder.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- f.Run(ctx(t)) }()
		expectUUIDs(t, e, sent, len(sent))
		eventually(t, 10*time.Second, mode.String()+" mode healthy", func() bool {
			return f.Healthy() == nil
		})
		stop(t, f, done)
	}
	if n := recordCount(t, e.brokers, e.kafka); n != int64(len(sent)) {
		t.Errorf("topic holds %d records, want %d: a mode re-sent acknowledged rows", n, len(sent))
	}
}

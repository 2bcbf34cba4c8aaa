package forwarder_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"

	"github.com/watermill-outbox/watermill-outbox/forwarder"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// flakyProducer passes sends to a real producer, except that it fails
// chosen calls: whole calls (failCalls) with an error, or single records
// (failIndex of the first call) with a retriable Kafka error.
type flakyProducer struct {
	sarama.SyncProducer
	mu        sync.Mutex
	calls     [][]*sarama.ProducerMessage
	failCalls int
	failIndex int
}

func (p *flakyProducer) SendMessages(msgs []*sarama.ProducerMessage) error {
	p.mu.Lock()
	p.calls = append(p.calls, msgs)
	call := len(p.calls)
	p.mu.Unlock()
	if call <= p.failCalls {
		return sarama.ErrOutOfBrokers
	}
	if call > 1 || p.failIndex < 0 {
		return p.SyncProducer.SendMessages(msgs)
	}
	keep := append(append([]*sarama.ProducerMessage{}, msgs[:p.failIndex]...),
		msgs[p.failIndex+1:]...)
	if err := p.SyncProducer.SendMessages(keep); err != nil {
		return err
	}
	return sarama.ProducerErrors{{Msg: msgs[p.failIndex], Err: sarama.ErrNotLeaderForPartition}}
}

func (p *flakyProducer) callSizes() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for _, c := range p.calls {
		out = append(out, len(c))
	}
	return out
}

func newFlaky(t *testing.T, brokers []string, failCalls, failIndex int) *flakyProducer {
	prod, err := sarama.NewSyncProducer(brokers, forwarder.DefaultSaramaConfig())
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	t.Cleanup(func() { _ = prod.Close() })
	return &flakyProducer{SyncProducer: prod, failCalls: failCalls, failIndex: failIndex}
}

// TestPartialFailureResendsOnlyTheFailedRecord: when Kafka refuses one
// record of a batch with a retriable error, the rows before it are
// acknowledged, and the retry sends that record alone: the ones after it,
// already confirmed, are not sent again.
func TestPartialFailureResendsOnlyTheFailedRecord(t *testing.T) {
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, 1, 1)
			for i := range 5 {
				e.publish(e.outbox, msg("k", i))
			}
			flaky := newFlaky(t, e.brokers, 0, 2)
			cfg := e.config()
			cfg.Producer, cfg.Brokers = flaky, nil
			start(t, cfg)
			if got := consume(t, e.brokers, e.kafka, 5, 20*time.Second); len(got) != 5 {
				t.Fatalf("got %d records, want 5", len(got))
			}
			eventually(t, 5*time.Second, "backlog 0", func() bool {
				return metric(t, cfg.Registerer, "outbox_forwarder_backlog", "outbox") == 0
			})
			if n := recordCount(t, e.brokers, e.kafka); n != 5 {
				t.Errorf("topic holds %d records, want 5 (no resend)", n)
			}
			if sizes := flaky.callSizes(); len(sizes) != 2 || sizes[0] != 5 || sizes[1] != 1 {
				t.Errorf("send calls of sizes %v, want [5 1]", sizes)
			}
			if n := metric(t, cfg.Registerer, "outbox_forwarder_failed_total", "outbox"); n != 1 {
				t.Errorf("failed counter %v, want 1", n)
			}
		})
	}
}

// TestKafkaOutageIsLoggedOnce: three failed sends in a row log the loss of
// Kafka once at error and its return once at info, and nothing is
// acknowledged until a send succeeds.
func TestKafkaOutageIsLoggedOnce(t *testing.T) {
	e := newEnv(t, testenv.Dialects[0], 1, 1)
	e.publish(e.outbox, msg("k", 1), msg("k", 2))
	flaky := newFlaky(t, e.brokers, 3, -1)
	logger := watermill.NewCaptureLogger()
	cfg := e.config()
	cfg.Producer, cfg.Brokers, cfg.Logger = flaky, nil, logger
	start(t, cfg)
	if got := consume(t, e.brokers, e.kafka, 2, 20*time.Second); len(got) != 2 {
		t.Fatalf("got %d records, want 2", len(got))
	}
	if sizes := flaky.callSizes(); len(sizes) != 4 {
		t.Errorf("send calls %v, want 3 failed and 1 good", sizes)
	}
	lost, back := 0, 0
	for _, m := range logger.Captured()[watermill.ErrorLogLevel] {
		if strings.Contains(m.Msg, "lost kafka") {
			lost++
		}
	}
	for _, m := range logger.Captured()[watermill.InfoLogLevel] {
		if strings.Contains(m.Msg, "reached kafka again") {
			back++
		}
	}
	if lost != 1 || back != 1 {
		t.Errorf("logged lost %d and back %d times, want 1 and 1", lost, back)
	}
}

package inbox

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// DefaultRequeueIdle is how long Requeue waits for one more poison message
// before it concludes it has read them all.
const DefaultRequeueIdle = 5 * time.Second

// RequeueResult reports what Requeue did.
type RequeueResult struct {
	// Requeued lists the UUIDs sent back to their original topic.
	Requeued []string
	// Skipped counts poison messages not selected, or repeated in the topic.
	Skipped int
	// Unroutable lists UUIDs whose MetadataPoisonTopic was empty; they were
	// left where they are.
	Unroutable []string
	// Missing lists the requested ids that were not found.
	Missing []string
}

// Requeue reads poisonTopic from sub and publishes the messages back to the
// topic each came from (MetadataPoisonTopic) through pub, with the same
// UUID, payload and metadata minus the poison entries. With ids, only the
// messages with those UUIDs are sent; without, every message is, each UUID
// once per call.
//
// It stops when every requested id was sent, when no message arrived for
// idle (DefaultRequeueIdle when zero), or when ctx is done; the last case
// returns the partial result with ctx's error. A publish error stops it
// at once and the message is nacked. Each message read is acknowledged
// after its publish; give sub no consumer group (read the topic from its
// start) so that messages left in the topic can be requeued later.
//
// Requeueing a message twice is harmless for an inbox consumer: the second
// copy is skipped as a duplicate once the first was applied.
func Requeue(ctx context.Context, sub message.Subscriber, pub message.Publisher,
	poisonTopic string, ids []string, idle time.Duration) (RequeueResult, error) {
	if idle <= 0 {
		idle = DefaultRequeueIdle
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs, err := sub.Subscribe(ctx, poisonTopic)
	if err != nil {
		return RequeueResult{}, fmt.Errorf("inbox: requeue: subscribe to %q: %w", poisonTopic, err)
	}
	r := newRequeuer(pub, ids)
	timer := time.NewTimer(idle)
	defer timer.Stop()
	for !r.finished() {
		select {
		case <-ctx.Done():
			return r.result(), fmt.Errorf("inbox: requeue from %q: %w", poisonTopic, ctx.Err())
		case <-timer.C:
			return r.result(), nil
		case msg, ok := <-msgs:
			if !ok {
				return r.result(), nil
			}
			if err := r.handle(msg); err != nil {
				return r.result(), err
			}
			timer.Reset(idle)
		}
	}
	return r.result(), nil
}

type requeuer struct {
	pub    message.Publisher
	wanted map[string]bool // nil: all
	seen   map[string]bool
	res    RequeueResult
}

func newRequeuer(pub message.Publisher, ids []string) *requeuer {
	r := &requeuer{pub: pub, seen: map[string]bool{}}
	if len(ids) > 0 {
		r.wanted = map[string]bool{}
		for _, id := range ids {
			r.wanted[id] = true
		}
	}
	return r
}

func (r *requeuer) finished() bool {
	return r.wanted != nil && len(r.seen) == len(r.wanted)
}

func (r *requeuer) handle(msg *message.Message) error {
	if r.seen[msg.UUID] || (r.wanted != nil && !r.wanted[msg.UUID]) {
		r.res.Skipped++
		msg.Ack()
		return nil
	}
	topic := msg.Metadata.Get(MetadataPoisonTopic)
	if topic == "" {
		r.seen[msg.UUID] = true
		r.res.Unroutable = append(r.res.Unroutable, msg.UUID)
		msg.Ack()
		return nil
	}
	out := msg.Copy()
	for _, k := range poisonMetadata {
		delete(out.Metadata, k)
	}
	if err := r.pub.Publish(topic, out); err != nil {
		msg.Nack()
		return fmt.Errorf("inbox: requeue message %q to %q: %w", msg.UUID, topic, err)
	}
	r.seen[msg.UUID] = true
	r.res.Requeued = append(r.res.Requeued, msg.UUID)
	msg.Ack()
	return nil
}

func (r *requeuer) result() RequeueResult {
	res := r.res
	for id := range r.wanted {
		if !r.seen[id] {
			res.Missing = append(res.Missing, id)
		}
	}
	slices.Sort(res.Missing)
	return res
}

package forwarder

import (
	"strconv"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
)

// rowStatus is what became of one row of a batch.
type rowStatus int

const (
	rowFailed  rowStatus = iota // Kafka did not confirm it; retry later
	rowSent                     // Kafka confirmed it in this batch
	rowAlready                  // confirmed by an earlier, unacknowledged batch
	rowDead                     // can never be sent; goes to the dead letters
)

// outcome is the result of sending one batch.
type outcome struct {
	rows     []row
	status   []rowStatus
	reasons  []string
	uuids    []string
	dests    []string
	acked    int // length of the prefix that may be acknowledged
	failed   int
	firstErr error
}

// send publishes the rows not sent before in one SendMessages call and
// sorts every row into an outcome.
func (f *Forwarder) send(topic string, rows []row, sent sentRows) *outcome {
	n := len(rows)
	out := &outcome{rows: rows, status: make([]rowStatus, n), reasons: make([]string, n),
		uuids: make([]string, n), dests: make([]string, n)}
	var msgs []*sarama.ProducerMessage
	for i, r := range rows {
		out.uuids[i] = r.UUID
		if sent.has(r.Pos) {
			out.status[i] = rowAlready
			continue
		}
		env, err := decodeEnvelope(r.Payload)
		if env.UUID != "" {
			out.uuids[i] = env.UUID
		}
		out.dests[i] = env.DestinationTopic
		if err != nil {
			out.status[i], out.reasons[i] = rowDead, err.Error()
			continue
		}
		msgs = append(msgs, producerMessage(env, f.cfg.PartitionKeyMetadata, i))
	}
	f.publish(topic, msgs, out)
	out.acked = n
	for i, s := range out.status {
		if s == rowFailed {
			out.acked = i
			break
		}
	}
	return out
}

// publish sends msgs and marks each row sent, dead or failed.
func (f *Forwarder) publish(topic string, msgs []*sarama.ProducerMessage, out *outcome) {
	if len(msgs) == 0 {
		return
	}
	var errs map[int]error
	defer f.lastSend.Store(time.Now().UnixNano())
	prod, err := f.producer.get()
	if err != nil {
		errs = sendErrors(err, msgs)
	} else {
		errs = sendErrors(prod.SendMessages(msgs), msgs)
	}
	for _, m := range msgs {
		i := m.Metadata.(int)
		err, failed := errs[i]
		switch {
		case !failed:
			out.status[i] = rowSent
		case permanentSendError(err):
			out.status[i], out.reasons[i] = rowDead, "kafka refused the message: "+err.Error()
		default:
			out.status[i] = rowFailed
			out.failed++
			if out.firstErr == nil {
				out.firstErr = err
			}
		}
	}
	fields := watermill.LogFields{"topic": topic}
	f.sendFailing.Store(out.firstErr != nil)
	if out.firstErr != nil {
		f.kafkaLink.fail(out.firstErr, fields)
	} else {
		f.kafkaLink.ok(fields)
	}
}

// sentPositions lists the rows from index from on that Kafka confirmed in
// this batch.
func (o *outcome) sentPositions(from int) []position {
	var out []position
	for i := from; i < len(o.rows); i++ {
		if o.status[i] == rowSent {
			out = append(out, o.rows[i].Pos)
		}
	}
	return out
}

// deadLetters lists the dead rows of the acknowledged prefix.
func (o *outcome) deadLetters() []deadLetter {
	var out []deadLetter
	for i := range o.acked {
		if o.status[i] == rowDead {
			out = append(out, deadLetter{UUID: o.uuids[i], Destination: o.dests[i],
				Reason: o.reasons[i], Row: o.rows[i]})
		}
	}
	return out
}

// deadLetterMessage is the Kafka copy of a dead letter: the raw row payload,
// keyed by the message UUID, with the reason and origin in headers.
func deadLetterMessage(dlq, sqlTopic string, dl deadLetter, index int) *sarama.ProducerMessage {
	header := func(k, v string) sarama.RecordHeader {
		return sarama.RecordHeader{Key: []byte(k), Value: []byte(v)}
	}
	return &sarama.ProducerMessage{
		Topic: dlq,
		Key:   sarama.StringEncoder(dl.UUID),
		Value: sarama.ByteEncoder(dl.Row.Payload),
		Headers: []sarama.RecordHeader{
			header(kafka.UUIDHeaderKey, dl.UUID),
			header("outbox_dead_letter_reason", dl.Reason),
			header("outbox_sql_topic", sqlTopic),
			header("outbox_offset", strconv.FormatInt(dl.Row.Pos.Offset, 10)),
			header("outbox_destination_topic", dl.Destination),
		},
		Metadata: index,
	}
}

// sentRows remembers rows Kafka confirmed whose batch could not be
// acknowledged, so a retry by the same worker does not send them again.
type sentRows map[position]struct{}

func (s sentRows) has(p position) bool {
	_, ok := s[p]
	return ok
}

func (s sentRows) add(ps []position) {
	for _, p := range ps {
		s[p] = struct{}{}
	}
}

// prune forgets rows at or before the acknowledged position.
func (s sentRows) prune(upTo position) {
	for p := range s {
		if !upTo.before(p) {
			delete(s, p)
		}
	}
}

// before orders positions the way rows are read.
func (p position) before(q position) bool {
	if p.TxID != q.TxID {
		return p.TxID < q.TxID
	}
	return p.Offset < q.Offset
}

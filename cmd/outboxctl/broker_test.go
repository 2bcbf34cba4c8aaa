package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Net.ReadTimeout = 10 * time.Second
	cfg.Net.WriteTimeout = 10 * time.Second
	cfg.Metadata.Retry.Max = 3
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	return cfg
}

// recordValue is the value of the i-th record a test produces.
func recordValue(i int) string { return fmt.Sprintf("record-%03d", i) }

// produceN sends n records with one key, so they share a partition and
// keep their order there.
func produceN(t *testing.T, addr, topic string, n int) {
	t.Helper()
	p, err := sarama.NewSyncProducer([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer p.Close()
	for i := range n {
		msg := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder("k"),
			Value: sarama.StringEncoder(recordValue(i))}
		if _, _, err := p.SendMessage(msg); err != nil {
			t.Fatalf("send record %d: %v", i, err)
		}
	}
}

// consumeAll reads every record of every partition of topic, from the
// oldest offset to the high watermark, and returns the values per
// partition.
func consumeAll(t *testing.T, addr, topic string) map[int32][]string {
	t.Helper()
	client := newClient(t, addr)
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("partitions of %q: %v", topic, err)
	}
	out := map[int32][]string{}
	for _, part := range parts {
		out[part] = consumePartition(t, client, topic, part)
	}
	return out
}

func consumePartition(t *testing.T, client sarama.Client, topic string, part int32) []string {
	t.Helper()
	hwm, err := client.GetOffset(topic, part, sarama.OffsetNewest)
	if err != nil {
		t.Fatalf("high watermark of %s/%d: %v", topic, part, err)
	}
	if hwm == 0 {
		return nil
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, part, sarama.OffsetOldest)
	if err != nil {
		t.Fatalf("consume %s/%d: %v", topic, part, err)
	}
	defer pc.Close()
	var values []string
	deadline := time.After(ioTimeout)
	for int64(len(values)) < hwm {
		select {
		case m := <-pc.Messages():
			values = append(values, string(m.Value))
		case err := <-pc.Errors():
			t.Fatalf("consume %s/%d: %v", topic, part, err)
		case <-deadline:
			t.Fatalf("%s/%d: got %d of %d records within %v", topic, part, len(values), hwm,
				ioTimeout)
		}
	}
	return values
}

// assertRecords checks that topic holds exactly n records, all in one
// partition, in the order they were produced.
func assertRecords(t *testing.T, addr, topic string, n int) {
	t.Helper()
	var got []string
	for part, values := range consumeAll(t, addr, topic) {
		if len(values) > 0 && got != nil {
			t.Fatalf("records spread over partitions; also in %d", part)
		}
		if len(values) > 0 {
			got = values
		}
	}
	if len(got) != n {
		t.Fatalf("got %d records, want %d", len(got), n)
	}
	for i, v := range got {
		if v != recordValue(i) {
			t.Fatalf("record %d = %q, want %q", i, v, recordValue(i))
		}
	}
}

// restartKeepsRecords produces 100 records, stops the broker with sig,
// starts it again on the same port and directory and checks the records.
// With explicit the topic is created by --topic, else on first use; extra
// flags are passed to both runs.
func restartKeepsRecords(t *testing.T, sig syscall.Signal, explicit bool, extra ...string) {
	const topic, n = "orders", 100
	port, dir := strconv.Itoa(freePort(t)), t.TempDir()
	args := append([]string{"--port", port, "--data-dir", dir, "--partitions", "3"}, extra...)
	if explicit {
		args = append(args, "--topic", topic)
	}
	first := startBroker(t, args...)
	if want := "127.0.0.1:" + port; first.addr != want {
		t.Fatalf("printed address %q, want %q", first.addr, want)
	}
	produceN(t, first.addr, topic, n)
	err := first.signal(t, sig)
	if sig == syscall.SIGTERM && err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", err, first.stderr)
	}
	second := startBroker(t, args...)
	assertRecords(t, second.addr, topic, n)
	if err := second.signal(t, syscall.SIGTERM); err != nil {
		t.Fatalf("second exit: %v; stderr:\n%s", err, second.stderr)
	}
}

func TestBrokerRestartAfterSIGTERMKeepsRecords(t *testing.T) {
	restartKeepsRecords(t, syscall.SIGTERM, true)
}

func TestBrokerRestartAfterSIGTERMKeepsAutoCreatedTopic(t *testing.T) {
	restartKeepsRecords(t, syscall.SIGTERM, false)
}

func TestBrokerRestartAfterSIGKILLKeepsRecords(t *testing.T) {
	restartKeepsRecords(t, syscall.SIGKILL, true)
}

// Without fsync the records are still in the page cache when the process
// is killed, so a restart finds them.
func TestBrokerRestartAfterSIGKILLWithoutFsyncKeepsRecords(t *testing.T) {
	restartKeepsRecords(t, syscall.SIGKILL, true, "--fsync=false")
}

// TestBrokerSIGKILLLosesAutoCreatedTopic pins the limit the help text
// states: a topic created on first use reaches the disk only at graceful
// shutdown. If kfake starts persisting it at once, this test fails and the
// help text of the broker command should be updated.
func TestBrokerSIGKILLLosesAutoCreatedTopic(t *testing.T) {
	port, dir := strconv.Itoa(freePort(t)), t.TempDir()
	args := []string{"--port", port, "--data-dir", dir}
	first := startBroker(t, args...)
	produceN(t, first.addr, "auto", 5)
	_ = first.signal(t, syscall.SIGKILL)

	second := startBroker(t, args...)
	cfg := saramaConfig()
	cfg.Metadata.AllowAutoTopicCreation = false
	client, err := sarama.NewClient([]string{second.addr}, cfg)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer client.Close()
	if _, err := client.Partitions("auto"); !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		t.Fatalf("auto-created topic after SIGKILL: err = %v, want unknown topic", err)
	}
}

func TestBrokerRejectsBadFlags(t *testing.T) {
	stderr := runExitOne(t, "broker", "--port", "70000", "--partitions", "0")
	for _, want := range []string{"--port 70000", "--partitions 0"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q: %s", want, stderr)
		}
	}
}

func TestBrokerFailsOnTakenPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	cmd := exec.Command(outboxctlBin, "broker", "--port", port, "--data-dir", "")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := runBounded(t, cmd); err == nil {
		t.Fatalf("broker started on a taken port")
	}
	if !strings.Contains(stderr.String(), "outboxctl: broker:") {
		t.Errorf("stderr lacks the error: %s", stderr.String())
	}
}

// newClient connects a sarama client to the broker at addr, closed when the
// test ends.
func newClient(t *testing.T, addr string) sarama.Client {
	t.Helper()
	client, err := sarama.NewClient([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// coordinator returns the group coordinator of group on the broker at addr.
func coordinator(t *testing.T, addr, group string) *sarama.Broker {
	t.Helper()
	coord, err := newClient(t, addr).Coordinator(group)
	if err != nil {
		t.Fatalf("coordinator of %q: %v", group, err)
	}
	return coord
}

// commitOffset commits offset for group on topic/0, as a consumer outside
// any group generation does, and fails the test unless it is acknowledged.
func commitOffset(t *testing.T, addr, group, topic string, offset int64) {
	t.Helper()
	coord := coordinator(t, addr, group)
	req := &sarama.OffsetCommitRequest{Version: 7, ConsumerGroup: group,
		ConsumerGroupGeneration: -1}
	req.AddBlock(topic, 0, offset, 0, "")
	resp, err := coord.CommitOffset(req)
	if err != nil {
		t.Fatalf("commit offset: %v", err)
	}
	if kerr := resp.Errors[topic][0]; kerr != sarama.ErrNoError {
		t.Fatalf("commit offset of %s/0: %v", topic, kerr)
	}
}

// committedOffset reads the committed offset of group on topic/0.
func committedOffset(t *testing.T, addr, group, topic string) int64 {
	t.Helper()
	coord := coordinator(t, addr, group)
	req := &sarama.OffsetFetchRequest{Version: 7, ConsumerGroup: group}
	req.AddPartition(topic, 0)
	resp, err := coord.FetchOffset(req)
	if err != nil {
		t.Fatalf("fetch offset: %v", err)
	}
	block := resp.GetBlock(topic, 0)
	if block == nil || block.Err != sarama.ErrNoError {
		t.Fatalf("fetch offset of %s/0: %+v", topic, block)
	}
	return block.Offset
}

// TestBrokerSIGKILLKeepsCommittedOffsets backs the help text's claim that
// committed consumer-group offsets survive a killed broker.
func TestBrokerSIGKILLKeepsCommittedOffsets(t *testing.T) {
	const topic, group = "orders", "billing"
	port, dir := strconv.Itoa(freePort(t)), t.TempDir()
	args := []string{"--port", port, "--data-dir", dir, "--topic", topic}
	first := startBroker(t, args...)
	produceN(t, first.addr, topic, 10)
	commitOffset(t, first.addr, group, topic, 7)
	if got := committedOffset(t, first.addr, group, topic); got != 7 {
		t.Fatalf("committed offset before kill = %d, want 7", got)
	}
	_ = first.signal(t, syscall.SIGKILL)

	second := startBroker(t, args...)
	if got := committedOffset(t, second.addr, group, topic); got != 7 {
		t.Errorf("committed offset after SIGKILL = %d, want 7", got)
	}
}

package integration

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/watermill-outbox/watermill-outbox/publisher/kafkatest"
)

// envBrokerProcess, when set to "port:dir", turns the test binary into a
// standalone embedded broker on that port (0 picks one) persisting to dir
// (empty keeps records in memory).
const envBrokerProcess = "INTEGRATION_BROKER_PROCESS"

// brokerAddrPrefix starts the line a broker process prints once it listens.
const brokerAddrPrefix = "BROKER_ADDR="

func TestMain(m *testing.M) {
	if spec, ok := os.LookupEnv(envBrokerProcess); ok {
		os.Exit(runBrokerProcess(spec))
	}
	if spec, ok := os.LookupEnv(envForwarderProcess); ok {
		os.Exit(runForwarderProcess(spec))
	}
	os.Exit(m.Run())
}

// runBrokerProcess is the body of a broker child: start, print the address,
// serve until SIGTERM or until the parent closes our stdin (it died).
func runBrokerProcess(spec string) int {
	portStr, dir, _ := strings.Cut(spec, ":")
	port, err := strconv.Atoi(portStr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: broker spec %q: %v\n", spec, err)
		return 2
	}
	b, err := kafkatest.Start(kafkatest.Config{Port: port, DataDir: dir})
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		return 1
	}
	fmt.Printf("%s%s\n", brokerAddrPrefix, b.Addrs()[0])
	waitForStop()
	b.Close()
	return 0
}

// waitForStop blocks until SIGTERM/SIGINT arrives or stdin reaches EOF, so a
// child never outlives a test binary that was killed.
func waitForStop() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-sig:
	case <-eof:
	}
}

// child is a re-executed copy of the test binary in one of its roles.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
	lines chan string
}

// startChild re-executes the test binary with env added and waits up to
// readyWait for a stdout line starting with readyPrefix, returning the rest.
func startChild(t testing.TB, env []string, readyPrefix string) (*child, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("child stdin: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("child stdout: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child %v: %v", env, err)
	}
	c := &child{cmd: cmd, stdin: stdin, done: make(chan struct{}), lines: make(chan string, 64)}
	go c.readLines(stdout)
	go func() { _ = cmd.Wait(); close(c.done) }()
	t.Cleanup(func() { c.kill() })
	return c, c.waitLine(t, readyPrefix, 30*time.Second)
}

func (c *child) readLines(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		select {
		case c.lines <- sc.Text():
		default: // nobody listens any more; keep draining the pipe
		}
	}
}

// waitLine returns the rest of the first line starting with prefix.
func (c *child) waitLine(t testing.TB, prefix string, wait time.Duration) string {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case l := <-c.lines:
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return rest
			}
		case <-c.done:
			t.Fatalf("child exited before printing %q: %v", prefix, c.cmd.ProcessState)
		case <-deadline:
			t.Fatalf("child printed no %q within %s", prefix, wait)
		}
	}
}

// signal sends sig and waits up to 15 s for the child to exit.
func (c *child) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		c.kill()
		t.Fatalf("child did not exit within 15s of %v", sig)
	}
}

// kill ends the child at once, if it still runs, and reaps it.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	_ = c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
	}
}

// brokerProcess starts a standalone embedded broker in its own process on
// port (0 picks one) with data directory dir ("" keeps it in memory).
func brokerProcess(t testing.TB, port int, dir string) (*child, string) {
	t.Helper()
	env := fmt.Sprintf("%s=%d:%s", envBrokerProcess, port, dir)
	return startChild(t, []string{env}, brokerAddrPrefix)
}

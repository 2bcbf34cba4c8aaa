package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// This file runs outboxctl as a subprocess for the tests: TestMain builds
// the binary once, startBroker runs `outboxctl broker` and waits for its
// address line, and every wait is bounded.

// outboxctlBin is the binary built once by TestMain for the subprocess tests.
var outboxctlBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "outboxctl-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(1)
	}
	outboxctlBin = filepath.Join(dir, "outboxctl")
	build := exec.Command("go", "build", "-o", outboxctlBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "go build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	startTimeout = 20 * time.Second
	stopTimeout  = 30 * time.Second
	ioTimeout    = 20 * time.Second
)

// brokerProc is a running `outboxctl broker` subprocess.
type brokerProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer
	exited chan error
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startBroker runs `outboxctl broker` with args and waits, bounded, for the
// address line on stdout. The process is killed when the test ends if it
// is still running.
func startBroker(t *testing.T, args ...string) *brokerProc {
	t.Helper()
	cmd := exec.Command(outboxctlBin, append([]string{"broker"}, args...)...)
	cmd.Env = append(os.Environ(), "OUTBOX_CONFIG=")
	p := &brokerProc{cmd: cmd, stderr: &bytes.Buffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start broker: %v", err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() { // keep draining so the child never blocks on stdout
		}
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() { p.kill() })
	select {
	case line, ok := <-lines:
		if !ok {
			p.waitExit(t)
			t.Fatalf("broker exited before it was ready; stderr:\n%s", p.stderr)
		}
		p.addr = strings.TrimSpace(line)
	case <-time.After(startTimeout):
		t.Fatalf("broker not ready after %v", startTimeout)
	}
	return p
}

// kill ends the process if it still runs; used on test cleanup.
func (p *brokerProc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
	}
}

// signal sends sig and waits, bounded, for the process to exit.
func (p *brokerProc) signal(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
	return p.waitExit(t)
}

func (p *brokerProc) waitExit(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.exited:
		return err
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		t.Fatalf("broker did not exit within %v; stderr:\n%s", stopTimeout, p.stderr)
		return nil
	}
}

// runBounded runs a command that should end by itself, killing it after
// startTimeout.
func runBounded(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(startTimeout):
		_ = cmd.Process.Kill()
		t.Fatalf("%v still running after %v", cmd.Args, startTimeout)
		return nil
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/cobra"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/logging"
)

// testCmd is a command with the --config flag, parsed from args, standing
// in for a subcommand of rootCmd without touching the shared rootCmd.
func testCmd(t *testing.T, args ...string) *cobra.Command {
	t.Helper()
	c := &cobra.Command{Use: "test"}
	addConfigFlag(c.Flags())
	if err := c.ParseFlags(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return c
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outbox.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatalf("write config: %v", err)
	}
	return path
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Setenv(config.EnvConfigFile, "")
	cfg, err := loadConfig(testCmd(t))
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	if cfg.Log != config.Default().Log {
		t.Errorf("log = %+v, want defaults %+v", cfg.Log, config.Default().Log)
	}
}

func TestLoadConfigFileThenEnv(t *testing.T) {
	path := writeFile(t, "log:\n  level: debug\n  format: json\n")
	t.Setenv(config.EnvPrefix+"LOG_FORMAT", "text")
	cfg, err := loadConfig(testCmd(t, "--config", path))
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	if cfg.Log.Level != "debug" || cfg.Log.Format != "text" {
		t.Errorf("log = %+v, want level from file, format from env", cfg.Log)
	}
}

func TestLoadConfigFromEnvPath(t *testing.T) {
	t.Setenv(config.EnvConfigFile, writeFile(t, "log:\n  level: trace\n"))
	cfg, err := loadConfig(testCmd(t))
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	if cfg.Log.Level != "trace" {
		t.Errorf("level = %q, want trace from $%s", cfg.Log.Level, config.EnvConfigFile)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.yaml")
	if _, err := loadConfig(testCmd(t, "--config", missing)); err == nil {
		t.Error("missing file: no error")
	}
	_, err := loadConfig(testCmd(t, "--config", writeFile(t, "log:\n  colour: red\n")))
	if !errors.Is(err, config.ErrUnknownKey) {
		t.Errorf("unknown key: err = %v, want ErrUnknownKey", err)
	}
}

func TestNewLoggerWritesToCommandStderr(t *testing.T) {
	c := testCmd(t)
	var buf bytes.Buffer
	c.SetErr(&buf)
	cfg := config.Default()
	cfg.Log.Format = "json"
	l, err := newLogger(c, cfg)
	if err != nil {
		t.Fatalf("newLogger: %v", err)
	}
	l.Info("hello", nil)
	if !strings.Contains(buf.String(), `"msg":"hello"`) {
		t.Errorf("stderr = %q", buf.String())
	}
	cfg.Log.Level = "loud"
	if _, err := newLogger(c, cfg); !errors.Is(err, logging.ErrUnknownLevel) {
		t.Errorf("bad level: err = %v", err)
	}
}

func TestRootListsBroker(t *testing.T) {
	out, err := exec.Command(outboxctlBin, "--help").Output()
	if err != nil {
		t.Fatalf("--help: %v", err)
	}
	if !strings.Contains(string(out), "broker") || !strings.Contains(string(out), "--config") {
		t.Errorf("help lacks broker or --config:\n%s", out)
	}
}

// runExitOne runs outboxctl with args, fails the test unless it exits with
// code 1, and returns what it wrote to stderr.
func runExitOne(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(outboxctlBin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := runBounded(t, cmd)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit = %v, want code 1; stderr:\n%s", err, stderr.String())
	}
	return stderr.String()
}

func TestUnknownCommandExitsOne(t *testing.T) {
	stderr := runExitOne(t, "no-such-command")
	if !strings.HasPrefix(stderr, "outboxctl: ") {
		t.Errorf("stderr = %q, want the error after the program name", stderr)
	}
}

// TestBrokerLogsPerConfig checks the wiring of --config into a command:
// the broker logs JSON to stderr when the file asks for it.
func TestBrokerLogsPerConfig(t *testing.T) {
	path := writeFile(t, "log:\n  format: json\n")
	p := startBroker(t, "--config", path, "--port", strconv.Itoa(freePort(t)), "--data-dir", "")
	if err := p.signal(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit: %v", err)
	}
	var started bool
	for _, line := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stderr line %q is not JSON: %v", line, err)
		}
		if m["msg"] == "broker started" && m["addr"] == p.addr {
			started = true
		}
	}
	if !started {
		t.Errorf("no JSON 'broker started' line with addr %s:\n%s", p.addr, p.stderr)
	}
}

func TestBrokerBadLogConfigExitsOne(t *testing.T) {
	path := writeFile(t, "log:\n  level: loud\n")
	stderr := runExitOne(t, "broker", "--config", path, "--data-dir", "")
	if !strings.Contains(stderr, `"loud"`) {
		t.Errorf("stderr does not name the bad level: %s", stderr)
	}
}

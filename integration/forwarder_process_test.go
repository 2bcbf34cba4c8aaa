package integration

import (
	stdsql "database/sql"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// envForwarderProcess, when set to a JSON forwarderSpec, turns the test
// binary into a forwarder daemon that drains the outbox until SIGTERM.
const envForwarderProcess = "INTEGRATION_FORWARDER_PROCESS"

// forwarderReadyPrefix starts the line a forwarder process prints once it
// runs.
const forwarderReadyPrefix = "FORWARDER_READY="

// forwarderSpec says which forwarder a child runs, and against what.
type forwarderSpec struct {
	// Impl is implComponent or implBatch.
	Impl    string   `json:"impl"`
	Dialect string   `json:"dialect"`
	DSN     string   `json:"dsn"`
	Brokers []string `json:"brokers"`
	// BatchSize is ours' rows per batch; 0 keeps the default.
	BatchSize int `json:"batch_size"`
}

// The forwarders under test.
const (
	implComponent = "component" // the plain composition of stock parts
	implBatch     = "batch"     // ours, forwarder.ModeBatch
)

// startForwarder starts the forwarder spec names in this process, on db.
func startForwarder(spec forwarderSpec, db *testenv.DB) (runningForwarder, error) {
	switch spec.Impl {
	case implComponent:
		return startComponent(db.DB, db.Dialect, spec.Brokers)
	case implBatch:
		return startOurs(db, spec)
	}
	return nil, fmt.Errorf("unknown forwarder %q", spec.Impl)
}

// consumerGroup is the offsets-table consumer group impl acknowledges in.
func consumerGroup(impl string) string {
	if impl == implComponent {
		return "" // watermill-sql's default
	}
	return ourGroup
}

func runForwarderProcess(raw string) int {
	var spec forwarderSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintf(os.Stderr, "integration: forwarder spec: %v\n", err)
		return 2
	}
	driver := map[string]string{"postgres": "pgx", "mysql": "mysql"}[spec.Dialect]
	db, err := stdsql.Open(driver, spec.DSN)
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: open %s: %v\n", spec.Dialect, err)
		return 1
	}
	defer db.Close()
	tdb := &testenv.DB{Dialect: spec.Dialect, DSN: spec.DSN, DB: db}
	fwd, err := startForwarder(spec, tdb)
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: start forwarder: %v\n", err)
		return 1
	}
	fmt.Printf("%s%d\n", forwarderReadyPrefix, os.Getpid())
	waitForStop()
	if err := fwd.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "integration: stop forwarder: %v\n", err)
		return 1
	}
	return 0
}

// forwarderProcess runs a forwarder in a child process and returns once it
// runs.
func forwarderProcess(t testing.TB, spec forwarderSpec) *child {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatalf("forwarder spec: %v", err)
	}
	c, _ := startChild(t, []string{envForwarderProcess + "=" + string(raw)}, forwarderReadyPrefix)
	return c
}

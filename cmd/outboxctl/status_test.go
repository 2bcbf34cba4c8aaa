package main

import (
	"strings"
	"testing"
	"time"

	"github.com/watermill-outbox/watermill-outbox/config"
)

// TestStatusListsEveryConfigProblem: status reports the problems of both
// sections it reads, not only the first one found.
func TestStatusListsEveryConfigProblem(t *testing.T) {
	t.Setenv(config.EnvConfigFile, "")
	path := writeFile(t, "sql:\n  dialect: postgres\n  dsn: \"\"\noutbox:\n  shards: 0\n")
	err := runStatus(testCmd(t, "--config", path), time.Second)
	if err == nil {
		t.Fatal("no error for an empty dsn and zero shards")
	}
	for _, field := range []string{"sql.dsn", "outbox.shards"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error does not name %s: %v", field, err)
		}
	}
}

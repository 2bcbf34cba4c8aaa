package main

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

// runOutboxctl runs the built binary with args and returns its combined
// output and error, bounded in time.
func runOutboxctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, outboxctlBin, args...)
	cmd.Env = append(os.Environ(), "OUTBOX_CONFIG=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func countTables(t *testing.T, db *sql.DB, dialect, like string) int {
	t.Helper()
	q := `SELECT count(*) FROM information_schema.tables
		WHERE table_schema = DATABASE() AND table_name LIKE ?`
	if dialect == "postgres" {
		q = `SELECT count(*) FROM information_schema.tables
		WHERE table_schema = 'public' AND table_name LIKE $1`
	}
	var n int
	if err := db.QueryRow(q, like).Scan(&n); err != nil {
		t.Fatalf("count tables: %v", err)
	}
	return n
}

func TestMigrateCommandWithFlags(t *testing.T) {
	for _, dialect := range testenv.Dialects {
		t.Run(dialect, func(t *testing.T) {
			tdb := testenv.Open(t, dialect)
			args := []string{"migrate", "--dialect", dialect, "--dsn", tdb.DSN,
				"--topic", "orders", "--topic", "payments", "--shards", "2"}
			for i := 0; i < 2; i++ {
				out, err := runOutboxctl(t, args...)
				if err != nil {
					t.Fatalf("run %d: %v\n%s", i+1, err, out)
				}
				if !strings.Contains(out, "orders_1") || !strings.Contains(out, "payments_0") {
					t.Fatalf("output does not list the shard topics: %s", out)
				}
			}
			// 4 messages tables, 4 offsets tables, the dead-letter table.
			if n := countTables(t, tdb.DB, dialect, "watermill%"); n != 9 {
				t.Fatalf("%d watermill tables, want 9", n)
			}
		})
	}
}

func TestMigrateCommandFromConfigFile(t *testing.T) {
	tdb := testenv.Postgres(t)
	path := filepath.Join(t.TempDir(), "outbox.yaml")
	yaml := "sql:\n  dialect: postgres\n  dsn: \"" + tdb.DSN + "\"\n" +
		"outbox:\n  topic: cfg_outbox\n  shards: 3\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatalf("write config: %v", err)
	}
	if out, err := runOutboxctl(t, "--config", path, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if n := countTables(t, tdb.DB, "postgres", "watermill_cfg_outbox_%"); n != 3 {
		t.Fatalf("%d shard tables of cfg_outbox, want 3", n)
	}
}

func TestMigrateCommandRejectsBadTopic(t *testing.T) {
	tdb := testenv.MySQL(t)
	out, err := runOutboxctl(t, "migrate", "--dialect", "mysql", "--dsn", tdb.DSN,
		"--topic", "a;DROP TABLE x")
	if err == nil || !strings.Contains(out, `"a;DROP TABLE x"`) {
		t.Fatalf("want a failure naming the topic, got %v: %s", err, out)
	}
	if n := countTables(t, tdb.DB, "mysql", "%"); n != 0 {
		t.Fatalf("%d tables created despite the bad topic", n)
	}
}

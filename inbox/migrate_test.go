package inbox_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/inbox"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

func TestMigrateConcurrentlyIsIdempotent(t *testing.T) {
	t.Parallel()
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			db := testenv.Open(t, d)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			errs := make(chan error, 6)
			var wg sync.WaitGroup
			for range 6 {
				wg.Go(func() { errs <- inbox.Migrate(ctx, db.DB, d, "Inbox_Concurrent") })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("concurrent Migrate: %v", err)
				}
			}
			if err := inbox.Migrate(ctx, db.DB, d, "Inbox_Concurrent"); err != nil {
				t.Fatalf("Migrate again: %v", err)
			}
		})
	}
}

func TestMigrateRejectsBadNamesBeforeSQL(t *testing.T) {
	ctx := context.Background()
	// A nil *sql.DB would panic on first use: the errors must come first.
	for _, table := range []string{"", "inbox; DROP TABLE x", "1inbox", "in-box", "a.b",
		`in"box`, strings.Repeat("x", 49)} {
		err := inbox.Migrate(ctx, nil, "postgres", table)
		if !errors.Is(err, inbox.ErrInvalidTable) {
			t.Errorf("table %q: err = %v, want ErrInvalidTable", table, err)
		}
	}
	if err := inbox.Migrate(ctx, nil, "oracle", "inbox"); !errors.Is(err, inbox.ErrUnknownDialect) {
		t.Errorf("dialect oracle: err = %v, want ErrUnknownDialect", err)
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	c := inbox.Config{Dialect: "sqlite3"}
	c.Table = "bad table"
	c.MaxAttempts = -1
	c.KeyMetadata = "id"
	c.KeyFunc = func(*message.Message) (string, error) { return "", nil }
	_, err := inbox.New(c)
	if err == nil {
		t.Fatal("New accepted an invalid config")
	}
	for _, want := range []string{"DB is nil", "unknown dialect", "invalid table name",
		"MaxAttempts -1", "Publisher", "KeyFunc and KeyMetadata"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestConfigFromFollowsTheRouterGroup(t *testing.T) {
	full := config.Default()
	full.SQL.Dialect = "mysql"
	full.Router.ConsumerGroup = "billing"
	c := inbox.ConfigFrom(full)
	if c.ConsumerGroup != "billing" || c.Dialect != "mysql" || c.Table != full.Inbox.Table {
		t.Fatalf("ConfigFrom = group %q dialect %q table %q", c.ConsumerGroup, c.Dialect, c.Table)
	}
	full.Inbox.ConsumerGroup = "own"
	if got := inbox.ConfigFrom(full).ConsumerGroup; got != "own" {
		t.Fatalf("explicit inbox group replaced by %q", got)
	}
}

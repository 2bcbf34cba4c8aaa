package sqldialect

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
)

func TestGet(t *testing.T) {
	for _, name := range []string{Postgres, MySQL} {
		d, err := Get(name)
		if err != nil || d.Name() != name {
			t.Fatalf("Get(%q) = %v, %v", name, d, err)
		}
	}
	if _, err := Get("oracle"); !errors.Is(err, ErrUnknownDialect) {
		t.Fatalf("Get(oracle) = %v, want ErrUnknownDialect", err)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestMigrationLockIsExclusive runs several lock holders at once and checks
// that no two are inside at the same time and that the database shows the
// lock as held meanwhile.
func TestMigrationLockIsExclusive(t *testing.T) {
	for _, dialect := range testenv.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := testenv.Open(t, dialect).DB
			d, _ := Get(dialect)
			var inside, overlaps, seenHeld atomic.Int32
			var wg sync.WaitGroup
			for i := 0; i < 4; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := d.WithMigrationLock(testCtx(t), db, func(context.Context, Execer) error {
						if inside.Add(1) != 1 {
							overlaps.Add(1)
						}
						if lockHeld(t, db, dialect) {
							seenHeld.Add(1)
						}
						time.Sleep(20 * time.Millisecond)
						inside.Add(-1)
						return nil
					})
					if err != nil {
						t.Errorf("lock: %v", err)
					}
				}()
			}
			wg.Wait()
			if overlaps.Load() != 0 || seenHeld.Load() != 4 {
				t.Fatalf("overlaps %d, lock seen held %d of 4 times",
					overlaps.Load(), seenHeld.Load())
			}
			if lockHeld(t, db, dialect) {
				t.Fatalf("lock still held after every holder returned")
			}
		})
	}
}

// lockHeld asks the server, from another connection, whether the
// migration lock is taken.
func lockHeld(t *testing.T, db *sql.DB, dialect string) bool {
	var held bool
	q := `SELECT IS_USED_LOCK(?) IS NOT NULL`
	var arg any
	if dialect == MySQL {
		name, err := mysqlLockName(testCtx(t), db)
		if err != nil {
			t.Errorf("lock name: %v", err)
		}
		arg = name
	}
	if dialect == Postgres {
		q = `SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND granted
			AND ((classid::bigint << 32) | objid::bigint) = $1`
		arg = lockKey()
	}
	if err := db.QueryRowContext(testCtx(t), q, arg).Scan(&held); err != nil {
		t.Errorf("is lock held: %v", err)
	}
	return held
}

func TestMigrationLockReleasedAfterError(t *testing.T) {
	for _, dialect := range testenv.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := testenv.Open(t, dialect).DB
			d, _ := Get(dialect)
			boom := errors.New("boom")
			fail := func(context.Context, Execer) error { return boom }
			err := d.WithMigrationLock(testCtx(t), db, fail)
			if !errors.Is(err, boom) {
				t.Fatalf("WithMigrationLock = %v, want the callback's error", err)
			}
			if lockHeld(t, db, dialect) {
				t.Fatalf("lock held after a failed migration")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			succeed := func(context.Context, Execer) error { return nil }
			if err := d.WithMigrationLock(ctx, db, succeed); err != nil {
				t.Fatalf("lock after a failed holder: %v", err)
			}
		})
	}
}

// TestDeadLetterTable creates the table twice and inserts one row twice:
// one row remains, with binary payload and empty metadata intact.
func TestDeadLetterTable(t *testing.T) {
	for _, dialect := range testenv.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := testenv.Open(t, dialect).DB
			d, _ := Get(dialect)
			for i := 0; i < 2; i++ {
				for _, q := range d.DeadLetterSchema() {
					if _, err := db.ExecContext(testCtx(t), q); err != nil {
						t.Fatalf("schema run %d: %v", i+1, err)
					}
				}
			}
			payload := []byte{0xff, 0x00, 'x'}
			for i := 0; i < 2; i++ {
				_, err := db.ExecContext(testCtx(t), d.DeadLetterInsert(),
					int64(7), "outbox_1", "orders", "uuid-1", payload, nil, "cannot unwrap")
				if err != nil {
					t.Fatalf("insert %d: %v", i+1, err)
				}
			}
			var n int
			var got []byte
			err := db.QueryRowContext(testCtx(t),
				"SELECT count(*) FROM "+DeadLetterTable).Scan(&n)
			if err == nil {
				err = db.QueryRowContext(testCtx(t),
					"SELECT payload FROM "+DeadLetterTable).Scan(&got)
			}
			if err != nil || n != 1 || !bytes.Equal(got, payload) {
				t.Fatalf("rows %d payload %x err %v; want 1 row, payload %x", n, got, err, payload)
			}
		})
	}
}

// TestMigrationLockIsPerDatabase holds the lock in one database and takes
// it in another meanwhile: services sharing a server do not wait on each
// other.
func TestMigrationLockIsPerDatabase(t *testing.T) {
	for _, dialect := range testenv.Dialects {
		t.Run(dialect, func(t *testing.T) {
			first, second := testenv.Open(t, dialect).DB, testenv.Open(t, dialect).DB
			d, _ := Get(dialect)
			err := d.WithMigrationLock(testCtx(t), first, func(context.Context, Execer) error {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				return d.WithMigrationLock(ctx, second, func(context.Context, Execer) error {
					return nil
				})
			})
			if err != nil {
				t.Fatalf("lock in a second database while the first holds it: %v", err)
			}
		})
	}
}

// TestMigrationLockWaitIsBounded holds the lock while a second migration
// waits for it under a short deadline: the second gives up without running
// its statements, on MySQL with ErrLockTimeout, and the holder is unharmed.
func TestMigrationLockWaitIsBounded(t *testing.T) {
	for _, dialect := range testenv.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := testenv.Open(t, dialect).DB
			d, _ := Get(dialect)
			var ran atomic.Bool
			err := d.WithMigrationLock(testCtx(t), db, func(context.Context, Execer) error {
				ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
				defer cancel()
				return d.WithMigrationLock(ctx, db, func(context.Context, Execer) error {
					ran.Store(true)
					return nil
				})
			})
			if err == nil || ran.Load() {
				t.Fatalf("second migration = %v (ran: %v), want an error and no run",
					err, ran.Load())
			}
			if dialect == MySQL && !errors.Is(err, ErrLockTimeout) {
				t.Fatalf("second migration = %v, want ErrLockTimeout", err)
			}
			// A waiter whose cancel reached the server late may hold the
			// lock for a moment, until its session ends.
			deadline := time.Now().Add(5 * time.Second)
			for lockHeld(t, db, dialect) {
				if time.Now().After(deadline) {
					t.Fatalf("lock still held 5s after both returned")
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

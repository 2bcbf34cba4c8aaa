// Package testenv gives tests of this module their real services: a fresh
// PostgreSQL or MariaDB database per test, and Kafka brokers (a real cluster
// named by KAFKA_BROKERS, otherwise the embedded broker).
//
// Where each service is looked for:
//
//	PostgreSQL  TEST_POSTGRES_DSN, default postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//	MariaDB     TEST_MYSQL_DSN,    default root@tcp(127.0.0.1:3306)/test
//	Kafka       KAFKA_BROKERS (comma separated), default an embedded broker per test
//
// A service that cannot be reached fails the test. Only outside CI, and only
// when TEST_SKIP_MISSING_SERVICES=1, is the test skipped instead.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// Unique returns prefix followed by 10 random hex characters, for names of
// databases, tables, topics and consumer groups that must not collide with
// earlier or concurrent runs against the same server.
func Unique(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Missing reports that a service the test needs is unreachable: a failure,
// or a skip outside CI when TEST_SKIP_MISSING_SERVICES=1.
func Missing(t testing.TB, service string, err error) {
	t.Helper()
	if os.Getenv("CI") == "" && os.Getenv("TEST_SKIP_MISSING_SERVICES") == "1" {
		t.Skipf("%s unreachable (skipping, TEST_SKIP_MISSING_SERVICES=1): %v", service, err)
	}
	t.Fatalf("%s unreachable: %v (see internal/testenv for where it is looked for)", service, err)
}

func envOr(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// Package integration holds tests and benchmarks that cross packages and
// processes: the outbox drained into Kafka by the forwarder against a real
// PostgreSQL and MariaDB, with the Kafka broker in a process of its own, and
// fault injection (a forwarder killed with SIGKILL, a broker stopped and
// started again on its data directory).
//
// The package has no code of its own outside its tests. Its test binary
// plays three roles, chosen by environment variables read in TestMain: the
// test runner, a standalone embedded broker (INTEGRATION_BROKER_PROCESS)
// and a forwarder daemon (INTEGRATION_FORWARDER_PROCESS). Benchmarks run by
// `make bench` are described in docs/benchmarks.md.
package integration

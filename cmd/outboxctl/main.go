// Command outboxctl is the command-line tool of watermill-outbox: it runs the
// outbox forwarder, applies migrations, reports status, requeues poisoned
// inbox messages and runs a local Kafka-protocol broker for development. Run
// `outboxctl help` for the list of commands.
//
// Each command lives in its own file and registers itself on rootCmd from
// an init function. SIGINT and SIGTERM cancel the command's context, which
// long-running commands take as the signal to shut down gracefully.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(run()) }

// run executes the command line and returns the process exit code: 0 on
// success, 1 on any error, which is printed to stderr.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rootCmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "outboxctl:", err)
		return 1
	}
	return 0
}

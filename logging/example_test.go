package logging_test

import (
	"errors"
	"os"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/sirupsen/logrus"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/logging"
)

// A logger from the log section of the configuration, with fields that
// every entry of one handler carries.
func ExampleNew() {
	logger, err := logging.New(config.Log{Level: "debug", Format: "json"}, os.Stderr)
	if err != nil {
		panic(err)
	}
	handlerLog := logger.With(watermill.LogFields{"handler": "orders"})
	handlerLog.Debug("message received", watermill.LogFields{"message_uuid": "m-1"})
	handlerLog.Error("handler failed", errors.New("db down"), watermill.LogFields{"attempt": 2})
}

// Wrapping a logrus logger the program already has.
func ExampleNewFromLogrus() {
	l := logrus.New()
	l.SetOutput(os.Stdout)
	l.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true})
	logging.NewFromLogrus(l).Info("ready", watermill.LogFields{"topic": "orders"})
	// Output: level=info msg=ready topic=orders
}

// A constructor that accepts a nil logger.
func ExampleOrNop() {
	var configured watermill.LoggerAdapter // nil: the caller wants no logs
	logger := logging.OrNop(configured)
	logger.Info("nothing is written", nil)
	// Output:
}

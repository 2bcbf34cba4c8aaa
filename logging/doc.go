// Package logging gives watermill-outbox one logger: a watermill.LoggerAdapter
// that writes through logrus, built from config.Log (level and format).
//
// Every package of the project takes a watermill.LoggerAdapter and treats a
// nil one as "no logging"; OrNop turns nil into watermill.NopLogger{} so that
// rule lives in one place.
//
// Field values of type config.Secret are never written in clear text, in
// either the text or the JSON format.
package logging

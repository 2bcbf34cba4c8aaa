package publisher

import "errors"

// Sentinel errors of the Kafka publisher, for errors.Is. The errors that
// wrap them say which brokers, topic or user were involved and keep the
// underlying cause inspectable too.
var (
	// ErrBrokerUnreachable means no broker could be connected to (or none
	// answered) within the dial timeout.
	ErrBrokerUnreachable = errors.New("kafka broker unreachable")
	// ErrAuthenticationFailed means a broker accepted the connection but
	// SASL authentication did not succeed: the credentials or the
	// mechanism are wrong, or the user is unknown.
	ErrAuthenticationFailed = errors.New("kafka authentication failed")
	// ErrClosed is returned by Publish after Close.
	ErrClosed = errors.New("publisher closed")
)

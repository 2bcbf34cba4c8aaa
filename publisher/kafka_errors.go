package publisher

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/watermill-outbox/watermill-outbox/config"
)

// probeTimeout bounds the plain TCP dial used to tell an unreachable broker
// from one that refused to authenticate us.
const probeTimeout = time.Second

// classifyConnectError turns the error of a failed start into one that says
// what went wrong and what to check.
//
// Brokers differ in how they refuse credentials: a real cluster answers with
// SASL_AUTHENTICATION_FAILED, others just close the connection during the
// exchange. So when SASL is on and a broker accepts TCP connections, a failed
// start is reported as an authentication failure, whatever the wording.
func classifyConnectError(cfg config.Kafka, err error) error {
	brokers := brokerList(cfg)
	if cfg.TLS.Enabled && isTLSError(err) {
		return fmt.Errorf("publisher: kafka brokers %s: %w: tls handshake failed; "+
			"check tls.ca_file, tls.server_name and that the brokers listen with TLS: %w",
			brokers, ErrBrokerUnreachable, err)
	}
	if cfg.SASL.Mechanism != "" &&
		(errors.Is(err, sarama.ErrSASLAuthenticationFailed) || anyAcceptsTCP(cfg)) {
		return fmt.Errorf("publisher: kafka brokers %s: %w: SASL %s as user %q was "+
			"rejected, or the broker closed the connection during authentication; "+
			"check the credentials and the mechanism: %w",
			brokers, ErrAuthenticationFailed, strings.ToUpper(cfg.SASL.Mechanism),
			cfg.SASL.User, err)
	}
	return fmt.Errorf("publisher: kafka brokers %s: %w%s: %w",
		brokers, ErrBrokerUnreachable, tlsHint(cfg), err)
}

// tlsHint is added to errors of a TLS client that got no usable answer:
// a plaintext listener often just stalls or hangs up on a TLS greeting.
func tlsHint(cfg config.Kafka) string {
	if !cfg.TLS.Enabled {
		return ""
	}
	return " (TLS is on: check that the brokers listen with TLS on this port)"
}

// timeoutError reports a start that did not finish in time, or whose
// context was cancelled by the caller.
func timeoutError(cfg config.Kafka, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("publisher: kafka brokers %s: connect: %w", brokerList(cfg), err)
	}
	return fmt.Errorf("publisher: kafka brokers %s: %w: no answer within dial_timeout %s%s: %w",
		brokerList(cfg), ErrBrokerUnreachable, cfg.DialTimeout, tlsHint(cfg), err)
}

func anyAcceptsTCP(cfg config.Kafka) bool {
	d := net.Dialer{Timeout: min(probeTimeout, cfg.DialTimeout)}
	for _, addr := range cfg.Brokers {
		if conn, err := d.Dial("tcp", addr); err == nil {
			_ = conn.Close()
			return true
		}
	}
	return false
}

func isTLSError(err error) bool {
	var (
		recordErr   tls.RecordHeaderError
		verifyErr   *tls.CertificateVerificationError
		authorityEr x509.UnknownAuthorityError
		hostnameErr x509.HostnameError
	)
	return errors.As(err, &recordErr) || errors.As(err, &verifyErr) ||
		errors.As(err, &authorityEr) || errors.As(err, &hostnameErr)
}

func brokerList(cfg config.Kafka) string { return strings.Join(cfg.Brokers, ",") }

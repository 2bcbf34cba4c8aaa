package publisher

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"

	"github.com/watermill-outbox/watermill-outbox/config"
)

// applyTLS turns on TLS when cfg.TLS.Enabled. Files that cannot be read or
// parsed are reported by name.
func applyTLS(sc *sarama.Config, cfg config.Kafka) error {
	if !cfg.TLS.Enabled {
		return nil
	}
	tc, err := tlsConfig(cfg.TLS)
	if err != nil {
		return err
	}
	sc.Net.TLS.Enable = true
	sc.Net.TLS.Config = tc
	return nil
}

func tlsConfig(t config.TLS) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // only when set explicitly
	}
	var errs []error
	if t.CAFile != "" {
		pool, err := loadCAPool(t.CAFile)
		errs = append(errs, err)
		tc.RootCAs = pool
	}
	switch {
	case t.CertFile != "" && t.KeyFile != "":
		pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("tls cert_file %q, key_file %q: %w",
				t.CertFile, t.KeyFile, err))
		}
		tc.Certificates = []tls.Certificate{pair}
	case t.CertFile != "":
		errs = append(errs, fmt.Errorf("tls cert_file %q: needs key_file", t.CertFile))
	case t.KeyFile != "":
		errs = append(errs, fmt.Errorf("tls key_file %q: needs cert_file", t.KeyFile))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return tc, nil
}

func loadCAPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tls ca_file %q: %w", file, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls ca_file %q: no PEM certificate found", file)
	}
	return pool, nil
}

// applySASL turns on SASL when a mechanism is set. SCRAM conversations run
// through github.com/xdg-go/scram.
func applySASL(sc *sarama.Config, cfg config.Kafka) error {
	s := cfg.SASL
	if s.Mechanism == "" {
		return nil
	}
	var errs []error
	if s.User == "" {
		errs = append(errs, fmt.Errorf("sasl %s: user is empty", s.Mechanism))
	}
	sc.Net.SASL.Enable = true
	sc.Net.SASL.Handshake = true
	sc.Net.SASL.User = s.User
	sc.Net.SASL.Password = s.Password.Reveal()
	switch strings.ToUpper(s.Mechanism) {
	case sarama.SASLTypePlaintext:
		sc.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	case sarama.SASLTypeSCRAMSHA256:
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		sc.Net.SASL.SCRAMClientGeneratorFunc = scramGenerator(scram.SHA256)
	case sarama.SASLTypeSCRAMSHA512:
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		sc.Net.SASL.SCRAMClientGeneratorFunc = scramGenerator(scram.SHA512)
	default:
		errs = append(errs, fmt.Errorf(
			"sasl mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.Mechanism))
	}
	return errors.Join(errs...)
}

func scramGenerator(hash scram.HashGeneratorFcn) func() sarama.SCRAMClient {
	return func() sarama.SCRAMClient { return &scramClient{hash: hash} }
}

// scramClient adapts an xdg-go/scram conversation to sarama.SCRAMClient.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

// Begin starts a conversation for user; authzID may be empty.
func (c *scramClient) Begin(user, password, authzID string) error {
	client, err := c.hash.NewClient(user, password, authzID)
	if err != nil {
		return fmt.Errorf("publisher: scram client for user %q: %w", user, err)
	}
	c.conv = client.NewConversation()
	return nil
}

// Step answers the broker's challenge with the next client message.
func (c *scramClient) Step(challenge string) (string, error) {
	return c.conv.Step(challenge)
}

// Done reports whether the conversation has finished.
func (c *scramClient) Done() bool { return c.conv.Done() }

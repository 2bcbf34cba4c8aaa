package publisher_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/publisher"
)

// pemFiles are a self-signed certificate for "broker.test" and its key,
// written as PEM; the certificate is its own CA.
type pemFiles struct{ cert, key string }

func writeSelfSigned(t *testing.T) pemFiles {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "broker.test"},
		DNSNames:     []string{"broker.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{
			x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth,
		},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := pemFiles{cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem")}
	writePEM(t, f.cert, "CERTIFICATE", der)
	writePEM(t, f.key, "PRIVATE KEY", keyDER)
	return f
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func tlsKafka(t config.TLS) config.Kafka {
	cfg := config.Default().Kafka
	t.Enabled = true
	cfg.TLS = t
	return cfg
}

func TestSaramaConfigTLS(t *testing.T) {
	f := writeSelfSigned(t)
	sc, err := publisher.SaramaConfig(tlsKafka(config.TLS{
		CAFile: f.cert, CertFile: f.cert, KeyFile: f.key, ServerName: "broker.test",
	}))
	if err != nil {
		t.Fatalf("SaramaConfig: %v", err)
	}
	tc := sc.Net.TLS.Config
	if !sc.Net.TLS.Enable || tc == nil {
		t.Fatal("TLS not enabled")
	}
	if tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.ServerName != "broker.test" {
		t.Errorf("tls config: roots %v, %d certificates, server name %q",
			tc.RootCAs != nil, len(tc.Certificates), tc.ServerName)
	}
	if tc.InsecureSkipVerify {
		t.Error("InsecureSkipVerify on although not set")
	}
	if tc.MinVersion < tls.VersionTLS12 {
		t.Errorf("min version %x, want TLS 1.2 or later", tc.MinVersion)
	}
	handshake(t, f, tc)
}

// handshake serves TLS with the self-signed certificate on loopback and
// checks that a client using tc trusts it and presents its own certificate.
func handshake(t *testing.T, f pemFiles, tc *tls.Config) {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAnyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), tc)
	if err != nil {
		t.Fatalf("TLS handshake with the configured CA and server name: %v", err)
	}
	conn.Close()
}

func TestSaramaConfigTLSInsecureOnlyWhenSet(t *testing.T) {
	sc, err := publisher.SaramaConfig(tlsKafka(config.TLS{InsecureSkipVerify: true}))
	if err != nil {
		t.Fatalf("SaramaConfig: %v", err)
	}
	if !sc.Net.TLS.Config.InsecureSkipVerify || sc.Net.TLS.Config.RootCAs != nil {
		t.Error("InsecureSkipVerify not applied, or roots set without a CA file")
	}
}

func TestSaramaConfigTLSBadFiles(t *testing.T) {
	f := writeSelfSigned(t)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	cases := []struct {
		name string
		tls  config.TLS
		want []string
	}{
		{"missing ca", config.TLS{CAFile: missing}, []string{"ca_file", missing}},
		{"ca without pem", config.TLS{CAFile: garbage}, []string{"ca_file", garbage, "no PEM"}},
		{"missing key", config.TLS{CertFile: f.cert, KeyFile: missing},
			[]string{f.cert, missing}},
		{"key is not a key", config.TLS{CertFile: f.cert, KeyFile: garbage},
			[]string{garbage}},
		{"cert without key", config.TLS{CertFile: f.cert}, []string{"needs key_file"}},
		{"key without cert", config.TLS{KeyFile: f.key}, []string{"needs cert_file"}},
		{"all at once", config.TLS{CAFile: missing, CertFile: f.cert},
			[]string{missing, "needs key_file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := publisher.SaramaConfig(tlsKafka(c.tls))
			if !errors.Is(err, publisher.ErrInvalidKafkaConfig) {
				t.Fatalf("error %v, want ErrInvalidKafkaConfig", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestSaramaConfigTLSOffIgnoresFiles(t *testing.T) {
	cfg := config.Default().Kafka
	cfg.TLS = config.TLS{CAFile: "/does/not/exist"}
	if _, err := publisher.SaramaConfig(cfg); err != nil {
		t.Errorf("TLS disabled but files checked: %v", err)
	}
}

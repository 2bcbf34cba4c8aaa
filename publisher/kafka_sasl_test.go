package publisher_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/publisher"
	"github.com/watermill-outbox/watermill-outbox/publisher/kafkatest"
)

// saslBroker starts an embedded broker that requires SASL for one user.
// The test needs a broker whose users it controls, so it is skipped when
// KAFKA_BROKERS names a real cluster, whose users it cannot create.
func saslBroker(t *testing.T, mechanism, user, password string) *kafkatest.Broker {
	t.Helper()
	if testenv.RealKafka() {
		t.Skip("KAFKA_BROKERS is set: this test needs a broker whose SASL users " +
			"it creates itself, which only the embedded broker allows")
	}
	b, err := kafkatest.Start(kafkatest.Config{SASLUsers: []kafkatest.SASLUser{
		{Mechanism: mechanism, User: user, Password: password},
	}})
	if err != nil {
		t.Fatalf("start SASL broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

var saslMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

func TestKafkaSASLRightPasswordPublishes(t *testing.T) {
	for _, mech := range saslMechanisms {
		t.Run(mech, func(t *testing.T) {
			b := saslBroker(t, mech, "alice", "s3cret")
			cfg := testKafkaConfig(b.Addrs())
			cfg.SASL = config.SASL{Mechanism: mech, User: "alice", Password: "s3cret"}
			k, err := publisher.NewKafka(context.Background(), cfg, nil)
			if err != nil {
				t.Fatalf("NewKafka with the right password: %v", err)
			}
			defer k.Close()
			topic := testenv.Unique("pub_sasl_")
			if err := b.CreateTopic(topic, 1); err != nil {
				t.Fatal(err)
			}
			msg := message.NewMessage(uuid.NewString(), []byte("hi"))
			if err := k.Publish(topic, msg); err != nil {
				t.Fatalf("publish: %v", err)
			}
			rec := kafkaConsume(t, cfg, topic, 1, 20*time.Second).byPartition[0][0]
			if string(rec.Value) != "hi" {
				t.Errorf("consumed %q, want hi", rec.Value)
			}
		})
	}
}

func TestKafkaSASLWrongPasswordFailsFast(t *testing.T) {
	for _, mech := range saslMechanisms {
		t.Run(mech, func(t *testing.T) {
			brokers := saslBroker(t, mech, "alice", "s3cret").Addrs()
			cfg := testKafkaConfig(brokers)
			cfg.SASL = config.SASL{Mechanism: mech, User: "alice", Password: "wrong"}
			start := time.Now()
			k, err := publisher.NewKafka(context.Background(), cfg, nil)
			elapsed := time.Since(start)
			if err == nil {
				k.Close()
				t.Fatal("NewKafka with a wrong password succeeded")
			}
			t.Logf("after %s: %v", elapsed.Round(time.Millisecond), err)
			if !errors.Is(err, publisher.ErrAuthenticationFailed) {
				t.Errorf("error does not wrap ErrAuthenticationFailed")
			}
			for _, want := range []string{brokers[0], mech, `"alice"`, "check the credentials"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not mention %s", want)
				}
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("error shows the password")
			}
			if elapsed > 15*time.Second {
				t.Errorf("failing took %s, want under 15s", elapsed)
			}
		})
	}
}

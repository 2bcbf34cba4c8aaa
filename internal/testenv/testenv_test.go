package testenv

import "testing"

func TestDatabasesAndKafkaAreReachable(t *testing.T) {
	for _, d := range Dialects {
		db := Open(t, d)
		var one int
		if err := db.DB.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("%s: SELECT 1 = %d, %v", d, one, err)
		}
	}
	brokers := Kafka(t)
	CreateTopic(t, brokers, Unique("testenv_"), 3)
}

package integration

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// drainBatch is the batch size BenchmarkDrain gives our forwarder: its
// default, set explicitly so that drain windows hold whole batches.
const drainBatch = 500

// windowRows is the length of the drain windows BenchmarkDrain compares
// across backlog sizes: the most whole batches a batch-5000 drain starts
// before its last one (nine batches, 4,500 rows).
const windowRows = drainBatch * ((backlogSmall - 1) / drainBatch)

// windowRates are the rates of the consecutive windows of windowRows rows
// of one drain, in order; the first starts at the drain's first record.
type windowRates []float64

// drainWindows reads the send time of the first n records of the drained
// one-partition topic and returns the rate of each window of windowRows
// rows: windowRows over the time from the send of the window's first
// record to that of the next window's first one. That is whole batches of
// reading, sending and acknowledging, timed by the producer's record
// timestamps (ms), not by polling. It fails if a timestamp lies outside
// [start, end], so a forwarder that stamped records otherwise is not timed
// by mistake.
func drainWindows(t testing.TB, brokers []string, topic string, n int,
	start, end time.Time) windowRates {
	t.Helper()
	times := sendTimes(t, brokers, topic, n)
	lo, hi := start.Truncate(time.Millisecond), end.Add(time.Millisecond)
	for i, ts := range times {
		if ts.Before(lo) || ts.After(hi) {
			t.Fatalf("topic %q: record %d stamped %s, outside the drain [%s, %s]",
				topic, i, ts.Format(time.RFC3339Nano), lo.Format(time.RFC3339Nano),
				hi.Format(time.RFC3339Nano))
		}
	}
	var out windowRates
	for k := windowRows; k < n; k += windowRows {
		out = append(out, windowRows/times[k].Sub(times[k-windowRows]).Seconds())
	}
	return out
}

// sendTimes returns the record timestamps of offsets 0 to n-1 of the
// topic's partition 0, which the producer sets when it takes each record.
func sendTimes(t testing.TB, brokers []string, topic string, n int) []time.Time {
	t.Helper()
	consumer, err := sarama.NewConsumer(brokers, saramaConfig())
	if err != nil {
		t.Fatalf("kafka consumer: %v", err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatalf("consume %q/0: %v", topic, err)
	}
	defer pc.Close()
	times := make([]time.Time, 0, n)
	deadline := time.After(60 * time.Second)
	for len(times) < n {
		select {
		case m := <-pc.Messages():
			if m.Offset != int64(len(times)) {
				t.Fatalf("consume %q/0: offset %d, want %d", topic, m.Offset, len(times))
			}
			times = append(times, m.Timestamp)
		case err := <-pc.Errors():
			t.Fatalf("consume %q/0: %v", topic, err)
		case <-deadline:
			t.Fatalf("consume %q/0: %d of %d records in 60s", topic, len(times), n)
		}
	}
	return times
}

// spread is the median, minimum and maximum of v (which must not be
// empty); it sorts v.
func spread(v []float64) (med, lo, hi float64) {
	slices.Sort(v)
	return v[len(v)/2], v[0], v[len(v)-1]
}

// reportSpread reports the median, minimum and maximum of v under unit,
// unit with _min and unit with _max, and returns the median.
func reportSpread(b *testing.B, v []float64, unit string) float64 {
	if len(v) == 0 {
		b.Fatalf("no samples for %s", unit)
	}
	med, lo, hi := spread(slices.Clone(v))
	b.ReportMetric(med, unit)
	b.ReportMetric(lo, unitSuffix(unit, "min"))
	b.ReportMetric(hi, unitSuffix(unit, "max"))
	return med
}

// unitSuffix turns "win_msgs/s" and "min" into "win_min_msgs/s".
func unitSuffix(unit, s string) string {
	for i := len(unit) - 1; i >= 0; i-- {
		if unit[i] == '_' {
			return fmt.Sprintf("%s_%s%s", unit[:i], s, unit[i:])
		}
	}
	return unit + "_" + s
}

// envComponentFlat, when set, adds a component-flat leaf per dialect to
// BenchmarkDrain: the plain composition's windows at a 5,000-row and a
// 100,000-row backlog, showing what x_5000_steady reads for a forwarder
// that slows with the backlog. It takes about a minute per dialect, so it
// is off by default.
const envComponentFlat = "DRAIN_COMPONENT_FLAT"

// componentFlatRows is component-flat's large backlog.
const componentFlatRows = 100000

// benchComponentFlat drains 5,000 and then 100,000 rows once each with the
// plain composition and reports the same window metrics as batch-5000 and
// batch-200000: the 5,000-row window, the median window of the first
// quarter of the large drain, that of its last quarter, and their ratio.
func benchComponentFlat(b *testing.B, dialect string, brokers []string) {
	small := drainOnce(b, implComponent, dialect, brokers, backlogSmall, true)
	large := drainOnce(b, implComponent, dialect, brokers, componentFlatRows, true)
	n := len(large.windows)
	high := median(large.windows[:n/4])
	b.ReportMetric(small.windows[0], "win_5000_msgs/s")
	b.ReportMetric(high, "win_msgs/s")
	b.ReportMetric(median(large.windows[n-n/4:]), "win_late_msgs/s")
	b.ReportMetric(high/small.windows[0], "x_5000_steady")
}

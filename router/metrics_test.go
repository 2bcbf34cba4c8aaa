package router_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/internal/testenv"
	"github.com/watermill-outbox/watermill-outbox/router"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// TestMetricsAndHealthEndpoint serves the endpoint on a free port, sends
// traffic through a handler with the inbox, and reads back Watermill's
// handler metrics, the inbox metrics and a healthy /healthz; once the
// router is closed, Health reports it.
func TestMetricsAndHealthEndpoint(t *testing.T) {
	b := gochannel(t)
	db := testenv.Postgres(t)
	c := baseConfig(b, db)
	c.Metrics.Address = "127.0.0.1:0"
	r := newRouter(t, c)
	topic := testenv.Unique("metered_")
	if err := r.AddHandler("metered", topic, func(*message.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	publish(t, b.Publisher, topic, newMsg("a"), newMsg("b"))
	waitFor(t, 20*time.Second, "two messages processed", func() bool {
		return metricSum(t, c.Registry, "watermill_outbox_inbox_processed_total") == 2
	})
	base := "http://" + r.MetricsAddr()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d", code)
	}
	for _, want := range []string{
		`watermill_outbox_router_handler_execution_time_seconds_count{` +
			`handler_name="metered",success="true"} 2`,
		`watermill_outbox_inbox_processed_total{consumer_group="` + c.Router.ConsumerGroup +
			`",handler="metered"} 2`,
		`watermill_outbox_router_subscriber_messages_received_total`,
	} {
		mustContain(t, "/metrics", body, want)
	}
	checkHealth(t, base+"/healthz", http.StatusOK, router.Health{
		Running: true, Backend: "gochannel", Addr: "in-process", Reachable: true})
	if err := r.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if h := r.Health(context.Background()); h.Running || h.Error == "" {
		t.Fatalf("health after close = %+v, want not running with an error", h)
	}
}

func checkHealth(t *testing.T, url string, code int, want router.Health) {
	t.Helper()
	got, body := get(t, url)
	var h router.Health
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("/healthz body %q: %v", body, err)
	}
	if got != code || h != want {
		t.Fatalf("/healthz = %d %+v, want %d %+v", got, h, code, want)
	}
}

// TestHealthReportsUnreachableBackend runs a router on the redis backend
// through a TCP proxy, then stops the proxy: /healthz must turn 503 and
// report the backend unreachable while the router still runs.
func TestHealthReportsUnreachableBackend(t *testing.T) {
	p := startProxy(t, testenv.Redis(t))
	c := config.Default()
	c.Router.Backend, c.Router.RedisAddr = "redis", p.addr
	c.Router.ConsumerGroup = testenv.Unique("group_")
	b, err := router.NewBackend(context.Background(), router.BackendConfig{Config: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	rc := baseConfig(b, nil)
	rc.Metrics.Address = "127.0.0.1:0"
	r := newRouter(t, rc)
	topic := testenv.Unique("x_")
	setupRedis(t, &router.BackendConfig{}, nil, []string{topic}) // removes the stream at the end
	if err := r.AddHandler("x", topic, func(*message.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	url := "http://" + r.MetricsAddr() + "/healthz"
	checkHealth(t, url, http.StatusOK, router.Health{
		Running: true, Backend: "redis", Addr: p.addr, Reachable: true})
	p.stop()
	code, body := get(t, url)
	var h router.Health
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatal(err)
	}
	if code != http.StatusServiceUnavailable || !h.Running || h.Reachable {
		t.Fatalf("/healthz after the proxy stopped = %d %+v", code, h)
	}
	mustContain(t, "health error", h.Error, p.addr)
}

// proxy forwards TCP connections to a target until stopped.
type proxy struct {
	addr string
	ln   net.Listener
	mu   sync.Mutex
	conn []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String(), ln: ln}
	go p.serve(target)
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) serve(target string) {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.DialTimeout("tcp", target, 5*time.Second)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		p.conn = append(p.conn, in, out)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
		go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
	}
}

// stop closes the listener and every forwarded connection.
func (p *proxy) stop() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conn {
		_ = c.Close()
	}
	p.conn = nil
}

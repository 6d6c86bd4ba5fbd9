package metrics_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/ca/metrics"
	"github.com/mayfly-pki/mayfly/internal/meter"
)

func TestServeMetrics(t *testing.T) {
	t.Parallel()
	p := metrics.New(metrics.Build{Version: "1.2.3", GoVersion: "go1.26"})
	p.Request("/1.0/sign", 201, 3*time.Millisecond)
	p.Request("/1.0/sign", 401, time.Millisecond)
	p.Certificate(meter.OpRevoke, "admin", "forbidden")
	p.TokenReplay("admin")
	p.Commit("postgresql", 2*time.Millisecond, 7)
	p.KMSCall("pkcs11", "sign", time.Millisecond, errors.New("device removed"))

	// No host: loopback only.
	srv, err := metrics.Listen(":0", p)
	if err != nil {
		t.Fatal(err)
	}
	if host, _, _ := net.SplitHostPort(srv.Addr().String()); host != "127.0.0.1" {
		t.Fatalf("listening on %s, want loopback", srv.Addr())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	resp, err := http.Get("http://" + srv.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`mayfly_http_requests_total{route="/1.0/sign",status="201"} 1`,
		`mayfly_http_requests_total{route="/1.0/sign",status="401"} 1`,
		`mayfly_http_request_duration_seconds_count{route="/1.0/sign"} 2`,
		`mayfly_certificates_total{operation="revoke",provisioner="admin",result="forbidden"} 1`,
		`mayfly_token_replays_total{provisioner="admin"} 1`,
		`mayfly_db_commit_batch_size_sum{backend="postgresql"} 7`,
		`mayfly_db_commit_duration_seconds_count{backend="postgresql"} 1`,
		`mayfly_kms_call_duration_seconds_count{backend="pkcs11",operation="sign",result="error"} 1`,
		`mayfly_build_info{goversion="go1.26",version="1.2.3"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(string(b), "\n"+want) {
			t.Errorf("no %s in:\n%s", want, b)
		}
	}
	if resp, err := http.Post("http://"+srv.Addr().String()+"/metrics", "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %v %v", resp.StatusCode, err)
	}
}

func TestListenRefusesBadAddress(t *testing.T) {
	t.Parallel()
	if _, err := metrics.Listen("nonsense", metrics.New(metrics.Build{})); err == nil || !strings.Contains(err.Error(), "metricsAddress") {
		t.Fatalf("got %v", err)
	}
}

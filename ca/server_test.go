package ca_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/api"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/ca"
)

// startServer runs a ca.Server on a loopback port until the test ends and
// returns it with a TLS configuration that trusts it.
func startServer(t *testing.T) (*ca.Server, *tls.Config) {
	t.Helper()
	env := at.New(t, at.Options{})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv, err := ca.NewServer(ca.Options{Address: "127.0.0.1:0", Handler: h, Now: env.Clock.Now, ShutdownTimeout: 5 * time.Second},
		&ca.Snapshot{Authority: env.Authority, CommonName: "Test CA", DNSNames: []string{"localhost"},
			TLS: ca.TLSOptions{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}})
	if err != nil {
		t.Fatalf("ca.NewServer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	roots := x509.NewCertPool()
	roots.AddCert(env.PKI.Root)
	return srv, &tls.Config{RootCAs: roots, ServerName: "localhost", Time: env.Clock.Now}
}

// HTTP/2 frame types and settings (RFC 9113 §6.5.2).
const (
	frameSettings               = 0x4
	flagAck                     = 0x1
	settingMaxConcurrentStreams = 0x3
	settingInitialWindowSize    = 0x4
)

// serverSettings opens an HTTP/2 connection to srv, as a client does (ALPN
// h2, the connection preface, an empty SETTINGS frame), and returns the
// settings of the server's first SETTINGS frame.
func serverSettings(t *testing.T, srv *ca.Server, tc *tls.Config) map[uint16]uint32 {
	t.Helper()
	tc = tc.Clone()
	tc.NextProtos = []string{"h2"}
	conn, err := tls.Dial("tcp", srv.Addr().String(), tc)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN negotiated %q, want h2", p)
	}
	// A deadline against a hung server, not a timing assertion.
	if err := conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	preface := "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	emptySettings := []byte{0, 0, 0, frameSettings, 0, 0, 0, 0, 0}
	if _, err := conn.Write(append([]byte(preface), emptySettings...)); err != nil {
		t.Fatalf("write the preface: %v", err)
	}
	for {
		var hdr [9]byte
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			t.Fatalf("read a frame header: %v", err)
		}
		length := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		payload := make([]byte, length)
		if _, err := io.ReadFull(conn, payload); err != nil {
			t.Fatalf("read a frame: %v", err)
		}
		if hdr[3] != frameSettings || hdr[4]&flagAck != 0 {
			continue
		}
		if length%6 != 0 {
			t.Fatalf("SETTINGS payload of %d bytes", length)
		}
		settings := make(map[uint16]uint32)
		for i := 0; i < length; i += 6 {
			settings[binary.BigEndian.Uint16(payload[i:])] = binary.BigEndian.Uint32(payload[i+2:])
		}
		return settings
	}
}

// TestHTTP2Limits: the server advertises at most 100 concurrent streams per
// connection (Go's default is 250) and a stream window no larger than the
// API's body limit (issue 14 item 6).
func TestHTTP2Limits(t *testing.T) {
	t.Parallel()
	srv, tc := startServer(t)
	settings := serverSettings(t, srv, tc)
	if got, ok := settings[settingMaxConcurrentStreams]; !ok || got != ca.MaxConcurrentStreams || got > 100 {
		t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS = %d (sent: %v), want %d", got, ok, ca.MaxConcurrentStreams)
	}
	if got, ok := settings[settingInitialWindowSize]; !ok || got != api.MaxBodySize {
		t.Fatalf("SETTINGS_INITIAL_WINDOW_SIZE = %d (sent: %v), want %d", got, ok, api.MaxBodySize)
	}

	// And the server still answers HTTP/2 requests.
	c := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   tc,
		ForceAttemptHTTP2: true,
	}}
	defer c.CloseIdleConnections()
	resp, err := c.Get("https://" + srv.Addr().String() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 || string(b) != "ok" {
		t.Fatalf("%s %q, want HTTP/2 and ok", resp.Proto, b)
	}
}

package validate

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mayfly-pki/mayfly/authority/acme"
)

const ka = "tok.thumbprint"

func httpChecker(t *testing.T, h http.Handler, o Options) *Checker {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	o.HTTPPort, _ = strconv.Atoi(port)
	return New(o)
}

func http01(c *Checker) error {
	return c.Validate(context.Background(), acme.ValidationRequest{
		Type: "http-01", Identifier: acme.Identifier{Type: "ip", Value: "127.0.0.1"}, Token: "tok", KeyAuthorization: ka,
	})
}

func problemType(err error) string {
	var f *Failure
	if errors.As(err, &f) {
		return f.Type
	}
	return ""
}

// TestHTTP01Hostile: the right answer passes; a wrong one, a huge body, a
// redirect loop and a server that never answers fail with the RFC 8555
// problem type, each after bounded work.
func TestHTTP01Hostile(t *testing.T) {
	t.Parallel()
	ok := httpChecker(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/acme-challenge/tok" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(ka + "\n"))
	}), Options{})
	if err := http01(ok); err != nil {
		t.Fatalf("right key authorization: %v", err)
	}
	cases := []struct {
		name string
		h    http.HandlerFunc
		o    Options
		typ  string
		msg  string
	}{
		{"wrong answer", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("tok.other")) }, Options{}, "incorrectResponse", "does not match"},
		{"huge body", func(w http.ResponseWriter, r *http.Request) {
			chunk := []byte(strings.Repeat("x", 64<<10))
			for range 1024 { // 64 MiB offered; MaxBody+1 read
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, Options{}, "incorrectResponse", "over"},
		{"redirect loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
		}, Options{}, "connection", "too many redirects"},
		{"redirect to another port", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/x", http.StatusFound)
		}, Options{}, "connection", "port 1 is not allowed"},
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, Options{}, "connection", "status code 404"},
		{"never answers", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, Options{Timeout: 300 * time.Millisecond}, "connection", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := http01(httpChecker(t, c.h, c.o))
			if problemType(err) != c.typ || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v (type %q), want type %s with %q", err, problemType(err), c.typ, c.msg)
			}
		})
	}
}

// TestPoolBound: with every slot taken, a validation whose context ends
// gives up instead of starting another connection.
func TestPoolBound(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	c := httpChecker(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		w.Write([]byte(ka))
	}), Options{Workers: 1})
	done := make(chan error, 1)
	go func() { done <- http01(c) }()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.Validate(ctx, acme.ValidationRequest{Type: "http-01", Identifier: acme.Identifier{Type: "ip", Value: "127.0.0.1"}, Token: "tok", KeyAuthorization: ka})
	if err == nil || !strings.Contains(err.Error(), "too busy") {
		t.Fatalf("second validation with the pool full: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("first validation: %v", err)
	}
}

// TestDNS01: TXT records at _acme-challenge through the configured
// resolver: the right digest passes, another fails, none is a dns error.
func TestDNS01(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte(ka))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		switch {
		case q.Qtype != dns.TypeTXT:
		case q.Name == "_acme-challenge.good.test.":
			for _, v := range []string{"other", want} {
				m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 1}, Txt: []string{v}})
			}
		case q.Name == "_acme-challenge.bad.test.":
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 1}, Txt: []string{"other"}})
		default:
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	c := New(Options{Resolver: pc.LocalAddr().String()})
	check := func(name string) error {
		return c.Validate(context.Background(), acme.ValidationRequest{Type: "dns-01", Identifier: acme.Identifier{Type: "dns", Value: name}, Token: "tok", KeyAuthorization: ka})
	}
	if err := check("good.test"); err != nil {
		t.Fatalf("good: %v", err)
	}
	if err := check("*.good.test"); err != nil {
		t.Fatalf("wildcard: %v", err)
	}
	if err := check("bad.test"); problemType(err) != "incorrectResponse" {
		t.Fatalf("bad: %v", err)
	}
	if err := check("none.test"); problemType(err) != "dns" {
		t.Fatalf("none: %v", err)
	}
}

// TestHTTP01ReusesConnections: validations of one server share a kept-alive
// connection; one that read a body over the limit closes its own, and the
// next validation still succeeds on a fresh one.
func TestHTTP01ReusesConnections(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	conns := 0
	huge := false
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := huge
		mu.Unlock()
		if h {
			w.Write([]byte(strings.Repeat("x", 4*MaxBody)))
			return
		}
		w.Write([]byte(ka))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	c := New(Options{HTTPPort: p})
	for i := range 5 {
		if err := http01(c); err != nil {
			t.Fatalf("validation %d: %v", i, err)
		}
	}
	mu.Lock()
	if conns != 1 {
		t.Errorf("5 validations opened %d connections, want 1", conns)
	}
	huge = true
	mu.Unlock()
	if err := http01(c); problemType(err) != string(acme.IncorrectResponse) {
		t.Fatalf("huge body: %v", err)
	}
	mu.Lock()
	huge = false
	mu.Unlock()
	if err := http01(c); err != nil {
		t.Fatalf("after a huge body: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 2 {
		t.Errorf("after a huge body, %d connections in all, want 2 (the oversized one is not reused)", conns)
	}
}

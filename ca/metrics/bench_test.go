//go:build unix

package metrics_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/api"
	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/ca/metrics"
	"github.com/mayfly-pki/mayfly/internal/audit"
	"github.com/mayfly-pki/mayfly/internal/meter"
)

// BenchmarkSign measures POST /1.0/sign through the API handler (token
// verification, CSR check, signing, the in-memory store) with the no-op
// meter, with Prometheus, and with Prometheus and an audit log (to
// io.Discard): the difference is what observability costs a sign. Tokens
// are minted before the timer starts. Compare ns/op:
//
//	go test -run '^$' -bench BenchmarkSign -benchtime 2000x -count 6 ./ca/metrics
func BenchmarkSign(b *testing.B) {
	prom := metrics.New(metrics.Build{Version: "bench"})
	for _, bc := range []struct {
		name  string
		meter meter.Meter
		audit bool
	}{
		{"nop", meter.Nop{}, false},
		{"prometheus", prom, false},
		{"prometheus+audit", prom, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var sink audit.Sink
			if bc.audit {
				l, err := audit.Open(audit.Options{Out: io.Discard, Chain: true})
				if err != nil {
					b.Fatal(err)
				}
				sink = l
			}
			env := at.New(b, at.Options{Meter: bc.meter, Audit: sink})
			h := api.New(api.Deps{
				Authority:  func() *authority.Authority { return env.Authority },
				TLSOptions: func() json.RawMessage { return json.RawMessage(`{}`) },
				Now:        env.Clock.Now, Meter: bc.meter, Audit: bc.audit,
			})
			csr := at.CSRPEM(at.NewCSR(b, at.CSR{CommonName: "bench.example.com", DNSNames: []string{"bench.example.com"}, Key: at.NewKey(b)}))
			bodies := make([]string, b.N)
			for i := range bodies {
				body, _ := json.Marshal(map[string]string{"csr": csr, "ott": env.SignToken(b, "bench.example.com")})
				bodies[i] = string(body)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime(b)
			for i := range b.N {
				req := httptest.NewRequest("POST", "/1.0/sign", strings.NewReader(bodies[i]))
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusCreated {
					b.Fatalf("sign: %d %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time (user and system) the process used so far: unlike
// ns/op it does not grow when other processes share the machine.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReportsOfOneSign is what the meter does for one sign: the request
// and the decision (a commit is shared by a batch of signs; counted whole
// here). Divide by BenchmarkSign/nop's ns/op for the share of sign CPU.
func BenchmarkReportsOfOneSign(b *testing.B) {
	p := metrics.New(metrics.Build{Version: "bench"})
	b.ReportAllocs()
	for range b.N {
		p.Request("/1.0/sign", 201, 300000)
		p.Certificate(meter.OpSign, "admin", meter.ResultOK)
		p.Commit("badger", 200000, 8)
	}
}

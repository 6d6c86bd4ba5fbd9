// Package metrics is the Prometheus adapter of Mayfly's meter
// (internal/meter) and the plain-HTTP listener of ca.json's metricsAddress
// (wire-spec §7.1), separate from the CA's HTTPS listener.
//
// Every series is prefixed mayfly_. Labels come from configuration (route
// patterns, provisioner names, backend types), never from request input.
package metrics

import (
	"crypto/x509"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mayfly-pki/mayfly/internal/meter"
)

// Build describes the running binary for mayfly_build_info.
type Build struct {
	Version   string
	GoVersion string
}

// Prometheus implements meter.Meter with a registry of its own (no global
// registry). Safe for concurrent use.
type Prometheus struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	requestSeconds *prometheus.HistogramVec
	certificates   *prometheus.CounterVec
	replays        *prometheus.CounterVec
	commitSeconds  *prometheus.HistogramVec
	commitBatch    *prometheus.HistogramVec
	kmsSeconds     *prometheus.HistogramVec
	caExpiry       *prometheus.GaugeVec
}

var _ meter.Meter = (*Prometheus)(nil)

// New returns the adapter with its series registered, the Go runtime and
// process collectors included.
func New(b Build) *Prometheus {
	p := &Prometheus{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mayfly_http_requests_total", Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "status"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mayfly_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		certificates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mayfly_certificates_total", Help: "Sign, renew, rekey and revoke decisions, by provisioner and result (ok or the refusal's error kind).",
		}, []string{"operation", "provisioner", "result"}),
		replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mayfly_token_replays_total", Help: "One-time tokens refused because they were already used, by provisioner.",
		}, []string{"provisioner"}),
		commitSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mayfly_db_commit_duration_seconds", Help: "Time of one database commit (a transaction or sync carrying a batch of writes), by backend.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"backend"}),
		commitBatch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mayfly_db_commit_batch_size", Help: "Writes carried by one database commit, by backend.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}, []string{"backend"}),
		kmsSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mayfly_kms_call_duration_seconds", Help: "Time of one call to a key manager, by backend, operation and result.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"backend", "operation", "result"}),
		caExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mayfly_ca_certificate_expiry_timestamp_seconds", Help: "NotAfter of the CA's certificates (roots and issuing chain), as a Unix time.",
		}, []string{"role", "subject", "serial"}),
	}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mayfly_build_info", Help: "The running build: always 1.",
	}, []string{"version", "goversion"})
	info.WithLabelValues(b.Version, b.GoVersion).Set(1)
	p.reg.MustRegister(p.requests, p.requestSeconds, p.certificates, p.replays, p.commitSeconds,
		p.commitBatch, p.kmsSeconds, p.caExpiry, info,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return p
}

// Registry returns the registry the series are registered with.
func (p *Prometheus) Registry() *prometheus.Registry { return p.reg }

// Request implements meter.Requests.
func (p *Prometheus) Request(route string, status int, elapsed time.Duration) {
	p.requests.WithLabelValues(route, statusLabel(status)).Inc()
	p.requestSeconds.WithLabelValues(route).Observe(elapsed.Seconds())
}

// statusLabel avoids strconv's allocation for the usual codes.
func statusLabel(s int) string {
	switch s {
	case 200:
		return "200"
	case 201:
		return "201"
	case 400:
		return "400"
	case 401:
		return "401"
	case 403:
		return "403"
	case 404:
		return "404"
	case 500:
		return "500"
	case 503:
		return "503"
	}
	return strconv.Itoa(s)
}

// Certificate implements meter.Certificates.
func (p *Prometheus) Certificate(op, provisioner, result string) {
	p.certificates.WithLabelValues(op, provisioner, result).Inc()
}

// TokenReplay implements meter.Certificates.
func (p *Prometheus) TokenReplay(provisioner string) {
	p.replays.WithLabelValues(provisioner).Inc()
}

// Commit implements meter.Commits.
func (p *Prometheus) Commit(backend string, elapsed time.Duration, batch int) {
	p.commitSeconds.WithLabelValues(backend).Observe(elapsed.Seconds())
	p.commitBatch.WithLabelValues(backend).Observe(float64(batch))
}

// KMSCall implements meter.KMS.
func (p *Prometheus) KMSCall(backend, op string, elapsed time.Duration, err error) {
	res := meter.ResultOK
	if err != nil {
		res = "error"
	}
	p.kmsSeconds.WithLabelValues(backend, op, res).Observe(elapsed.Seconds())
}

// SetCACertificates replaces the CA certificate expiry series with those of
// roots and chain (the issuing chain, issuing certificate first); called
// at start and on every reload.
func (p *Prometheus) SetCACertificates(roots, chain []*x509.Certificate) {
	p.caExpiry.Reset()
	set := func(role string, c *x509.Certificate) {
		p.caExpiry.WithLabelValues(role, c.Subject.String(), c.SerialNumber.String()).Set(float64(c.NotAfter.Unix()))
	}
	for _, c := range roots {
		set("root", c)
	}
	for i, c := range chain {
		if i == 0 {
			set("issuer", c)
			continue
		}
		set("intermediate", c)
	}
}

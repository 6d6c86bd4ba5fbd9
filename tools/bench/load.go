package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mayfly-pki/mayfly/api/wire"
)

// Modes of a run.
const (
	modeSign  = "sign"  // POST /1.0/sign with a fresh JWK token per request
	modeRenew = "renew" // POST /1.0/renew over mTLS
	modeMixed = "mixed" // even-numbered requests sign, odd ones renew
)

// loadOptions configure one timed run.
type loadOptions struct {
	Name     string        // label in reports; defaults to Mode
	Mode     string        // modeSign, modeRenew or modeMixed
	N        int           // timed requests; 0 = bounded by Duration only
	Duration time.Duration // stop starting requests after this; 0 = bounded by N only
	C        int           // workers, each with its own keep-alive connection
	Timeout  time.Duration // per request; 0 = 30s
	// ServerPID is the CA process whose CPU time is measured; 0 = none.
	ServerPID int
	// Keys are the client keys: sign requests use them round-robin, and in
	// renew and mixed modes worker w renews a certificate for
	// Keys[len(Keys)-1-w], so len(Keys) must be at least C there.
	Keys []*clientKey
}

// Result is one run's summary (a row of the table, an element of --json).
type Result struct {
	Name        string  `json:"name"`
	Mode        string  `json:"mode"`
	Concurrency int     `json:"concurrency"`
	WallSec     float64 `json:"wall_s"`
	ClientCPU   float64 `json:"client_cpu_s"`
	ClientCores float64 `json:"client_cpu_cores"`
	// The CA figures are present when a server PID was given.
	CACPU       *float64            `json:"ca_cpu_s,omitempty"`
	CACores     *float64            `json:"ca_cpu_cores,omitempty"`
	CAMsPerCert *float64            `json:"ca_cpu_ms_per_cert,omitempty"`
	Total       OpResult            `json:"total"`
	Ops         map[string]OpResult `json:"ops,omitempty"` // per operation, mixed mode only
}

// measurement is what the timed phase measured.
type measurement struct {
	wall      time.Duration
	client    time.Duration // CPU time of this process
	server    time.Duration // CPU time of the CA process, when serverSet
	serverSet bool
}

// runner drives one run against a target.
type runner struct {
	t       *target
	o       loadOptions
	signURL string
	renURL  string
	ocsp    *ocspTarget // ocsp mode
}

// worker owns one HTTP client (one connection with keep-alive) and its
// statistics; only its goroutine touches stats and pending.
type worker struct {
	client   *http.Client
	tr       *http.Transport
	renewKey *clientKey
	// newest is the body of the newest certificate issued for renewKey, and
	// cert the client certificate built from it at the last handshake.
	// GetClientCertificate runs on the transport's dial goroutine.
	newest  atomic.Pointer[[]byte]
	cert    atomic.Pointer[tls.Certificate]
	stats   map[string]*opStats
	pending []pending
}

// pending is a 2xx response kept for verification after the timed phase.
type pending struct {
	op   string
	lat  time.Duration
	body []byte
	key  *clientKey
}

// runLoad runs one timed run. Setup (obtaining the certificates to renew)
// happens before the clock starts; responses are verified after it stops.
// It returns an error only when the run could not be set up or measured;
// failed requests are counted in the result.
func runLoad(ctx context.Context, t *target, o loadOptions) (*Result, error) {
	switch o.Mode {
	case modeSign, modeRenew, modeMixed, modeOCSP, modeSSH:
	default:
		return nil, fmt.Errorf("unknown mode %q: want sign, renew, mixed, ocsp or ssh", o.Mode)
	}
	if o.C < 1 || o.N < 0 || (o.N == 0 && o.Duration <= 0) {
		return nil, errors.New("need a concurrency >= 1 and a bound: a request count > 0 and/or a duration > 0")
	}
	if len(o.Keys) == 0 || (o.Mode != modeSign && o.Mode != modeOCSP && o.Mode != modeSSH && len(o.Keys) < o.C) {
		return nil, fmt.Errorf("%d client keys for %d workers in %s mode", len(o.Keys), o.C, o.Mode)
	}
	if o.Name == "" {
		o.Name = o.Mode
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	r := &runner{t: t, o: o, signURL: t.url + "/1.0/sign", renURL: t.url + "/1.0/renew"}
	workers, err := r.setup(ctx)
	defer func() {
		for _, w := range workers {
			w.tr.CloseIdleConnections()
		}
	}()
	if err != nil {
		return nil, err
	}
	m, err := r.timed(ctx, workers)
	if err != nil {
		return nil, err
	}
	r.verifyAll(workers)
	return r.summarize(m, workers), nil
}

// setup creates the workers and, for renew and mixed, gets each worker its
// first certificate, then drops the connection that fetched it so that the
// first timed request handshakes with the certificate.
func (r *runner) setup(ctx context.Context) ([]*worker, error) {
	workers := make([]*worker, r.o.C)
	for i := range workers {
		w := &worker{stats: map[string]*opStats{}}
		if r.o.Mode != modeSign && r.o.Mode != modeOCSP && r.o.Mode != modeSSH {
			w.renewKey = r.o.Keys[len(r.o.Keys)-1-i]
		}
		w.tr = r.newTransport(w)
		w.client = &http.Client{Transport: w.tr, Timeout: r.o.Timeout}
		workers[i] = w
	}
	if r.o.Mode == modeSign || r.o.Mode == modeSSH {
		return workers, nil
	}
	if r.o.Mode == modeOCSP {
		return workers, r.setupOCSP(ctx, workers[0])
	}
	errs := make([]error, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.obtain(ctx, w)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return workers, fmt.Errorf("obtaining the certificates to renew: %w", err)
	}
	return workers, nil
}

// obtain signs a certificate for w.renewKey (untimed) and makes it w's
// client certificate.
func (r *runner) obtain(ctx context.Context, w *worker) error {
	body, err := r.signBody(w.renewKey, time.Now())
	if err != nil {
		return err
	}
	status, resp, _, err := post(ctx, w.client, r.signURL, body)
	if err != nil {
		return err
	}
	if status != http.StatusCreated && status != http.StatusOK {
		return fmt.Errorf("sign %s: HTTP %d: %s", w.renewKey.name, status, truncate(string(resp), 300))
	}
	_, ders, err := verifyResponse(resp, w.renewKey, r.t.roots)
	if err != nil {
		return fmt.Errorf("sign %s: %w", w.renewKey.name, err)
	}
	w.cert.Store(&tls.Certificate{Certificate: ders, PrivateKey: w.renewKey.key})
	w.tr.CloseIdleConnections()
	return nil
}

// newTransport returns an HTTP/1.1 transport with at most one idle
// connection, presenting w's newest certificate when the CA asks for one.
func (r *runner) newTransport(w *worker) *http.Transport {
	tc := &tls.Config{RootCAs: r.t.roots, MinVersion: tls.VersionTLS12}
	if w.renewKey != nil {
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return w.clientCertificate(), nil
		}
	}
	return &http.Transport{
		Proxy:               nil, // never a proxy from the environment
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 1,
		DisableCompression:  true,
	}
}

// clientCertificate returns the certificate to present: the newest one
// issued, decoded now (handshakes are rare with keep-alive, so the timed loop
// never decodes), or the previous one if that fails; an empty certificate
// (none sent) before the first.
func (w *worker) clientCertificate() *tls.Certificate {
	if b := w.newest.Swap(nil); b != nil {
		if c, err := tlsCertificate(*b, w.renewKey); err == nil {
			w.cert.Store(c)
		}
	}
	if c := w.cert.Load(); c != nil {
		return c
	}
	return &tls.Certificate{}
}

// timed runs the measured loop: workers take request numbers from a shared
// counter until N or the deadline is reached.
func (r *runner) timed(ctx context.Context, workers []*worker) (measurement, error) {
	var m measurement
	var srv0 time.Duration
	var err error
	if r.o.ServerPID > 0 {
		if srv0, err = cpuOfPid(r.o.ServerPID); err != nil {
			return m, err
		}
	}
	cpu0, err := cpuSelf()
	if err != nil {
		return m, err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	var deadline time.Time
	if r.o.Duration > 0 {
		deadline = start.Add(r.o.Duration)
	}
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if (r.o.N > 0 && i >= r.o.N) || (!deadline.IsZero() && time.Now().After(deadline)) {
					return
				}
				r.do(ctx, w, i)
			}
		}()
	}
	wg.Wait()
	m.wall = time.Since(start)
	cpu1, err := cpuSelf()
	if err != nil {
		return m, err
	}
	m.client = cpu1 - cpu0
	if r.o.ServerPID > 0 {
		srv1, err := cpuOfPid(r.o.ServerPID)
		if err != nil {
			return m, err
		}
		m.server, m.serverSet = srv1-srv0, true
	}
	if err := ctx.Err(); err != nil {
		return m, fmt.Errorf("run %s interrupted: %w", r.o.Name, err)
	}
	return m, nil
}

func (r *runner) opFor(i int) string {
	if r.o.Mode == modeMixed {
		if i%2 == 1 {
			return modeRenew
		}
		return modeSign
	}
	return r.o.Mode
}

// signBody mints a token for k and returns the JSON body of POST /1.0/sign.
func (r *runner) signBody(k *clientKey, now time.Time) ([]byte, error) {
	tok, err := r.t.minter.signToken(r.signURL, r.t.rootSHA, k.name, []string{k.name}, now)
	if err != nil {
		return nil, err
	}
	return json.Marshal(wire.SignRequest{CSR: k.csrPEM, OTT: tok})
}

// do sends request number i on w. Minting the token is outside the latency.
func (r *runner) do(ctx context.Context, w *worker, i int) {
	op := r.opFor(i)
	s := w.stats[op]
	if s == nil {
		s = &opStats{}
		w.stats[op] = s
	}
	if op == modeOCSP {
		status, resp, lat, err := get(ctx, w.client, r.ocsp.url)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				s.fail("transport", err.Error())
			}
		case status != http.StatusOK:
			s.fail(fmt.Sprintf("HTTP %d", status), string(resp))
		default:
			w.pending = append(w.pending, pending{op: op, lat: lat, body: resp})
		}
		return
	}
	k, u := w.renewKey, r.renURL
	var body []byte
	switch op {
	case modeSign:
		k, u = r.o.Keys[i%len(r.o.Keys)], r.signURL
		var err error
		if body, err = r.signBody(k, time.Now()); err != nil {
			s.fail("token", err.Error())
			return
		}
	case modeSSH:
		k, u = r.o.Keys[i%len(r.o.Keys)], r.t.url+"/1.0/ssh/sign"
		var err error
		if body, err = r.sshBody(k, time.Now()); err != nil {
			s.fail("token", err.Error())
			return
		}
	}
	status, resp, lat, err := post(ctx, w.client, u, body)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			s.fail("transport", err.Error())
		}
	case status < 200 || status > 299:
		s.fail(fmt.Sprintf("HTTP %d", status), string(resp))
	default:
		if op == modeRenew {
			w.newest.Store(&resp)
		}
		w.pending = append(w.pending, pending{op: op, lat: lat, body: resp, key: k})
	}
}

// post sends one POST (an empty body when body is nil) and returns the
// status, the response body and the latency from sending the request to
// having read the whole response.
func post(ctx context.Context, c *http.Client, u string, body []byte) (int, []byte, time.Duration, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, rd)
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, time.Since(t0), err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, b, time.Since(t0), err
}

// verifyAll checks every kept response, one goroutine per worker (the CA is
// idle by now, so this does not disturb the measurement).
func (r *runner) verifyAll(workers []*worker) {
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ov := &ocspVerifier{t: r.ocsp}
			for _, p := range w.pending {
				s := w.stats[p.op]
				if p.op == modeOCSP {
					if err := ov.verify(p.body); err != nil {
						s.fail("verify", err.Error())
					} else {
						s.succeed(p.lat)
					}
					continue
				}
				if p.op == modeSSH {
					if err := verifySSHResponse(p.body, p.key); err != nil {
						s.fail("verify", err.Error())
						continue
					}
					s.succeed(p.lat)
					continue
				}
				if _, _, err := verifyResponse(p.body, p.key, r.t.roots); err != nil {
					s.fail("verify", err.Error())
					continue
				}
				s.succeed(p.lat)
			}
			w.pending = nil
		}()
	}
	wg.Wait()
}

// summarize builds the result from the measurement and the workers'
// statistics.
func (r *runner) summarize(m measurement, workers []*worker) *Result {
	total, ops := &opStats{}, map[string]*opStats{}
	for _, w := range workers {
		for op, s := range w.stats {
			if ops[op] == nil {
				ops[op] = &opStats{}
			}
			ops[op].merge(s)
			total.merge(s)
		}
	}
	wall := max(m.wall.Seconds(), 1e-9) // never 0: the ratios below must stay finite for JSON
	res := &Result{
		Name: r.o.Name, Mode: r.o.Mode, Concurrency: r.o.C,
		WallSec: round(wall, 3), ClientCPU: round(m.client.Seconds(), 3),
		ClientCores: round(m.client.Seconds()/wall, 2), Total: summarize(total, m.wall),
	}
	if r.o.Mode == modeMixed {
		res.Ops = map[string]OpResult{}
		for op, s := range ops {
			res.Ops[op] = summarize(s, m.wall)
		}
	}
	if m.serverSet {
		sec := m.server.Seconds()
		cpu, cores := round(sec, 2), round(sec/wall, 2)
		res.CACPU, res.CACores = &cpu, &cores
		if res.Total.OK > 0 {
			per := round(sec*1000/float64(res.Total.OK), 3)
			res.CAMsPerCert = &per
		}
	}
	return res
}

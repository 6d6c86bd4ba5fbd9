package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// modeOCSP asks the OCSP responder about one certificate with GET
// /1.0/ocsp/<request> (RFC 5019: no nonce, so answered from the CA's
// cache). The suite enables "ocsp" in ca.json when a run uses it.
const modeOCSP = "ocsp"

// ocspTarget is what an ocsp run asks and checks answers against.
type ocspTarget struct {
	url          string
	leaf, issuer *x509.Certificate
}

// setupOCSP signs a certificate (untimed) and builds the GET URL asking
// about it.
func (r *runner) setupOCSP(ctx context.Context, w *worker) error {
	k := r.o.Keys[0]
	body, err := r.signBody(k, time.Now())
	if err != nil {
		return err
	}
	status, resp, _, err := post(ctx, w.client, r.signURL, body)
	if err != nil {
		return err
	}
	if status != http.StatusCreated && status != http.StatusOK {
		return fmt.Errorf("sign %s: HTTP %d: %s", k.name, status, truncate(string(resp), 300))
	}
	leaf, ders, err := verifyResponse(resp, k, r.t.roots)
	if err != nil {
		return err
	}
	if len(ders) < 2 {
		return errors.New("sign: no intermediate in the response")
	}
	issuer, err := x509.ParseCertificate(ders[1])
	if err != nil {
		return err
	}
	req, err := xocsp.CreateRequest(leaf, issuer, nil)
	if err != nil {
		return err
	}
	r.ocsp = &ocspTarget{url: r.t.url + "/1.0/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(req)), leaf: leaf, issuer: issuer}
	return nil
}

// get sends one GET and returns the status, the body and the latency.
func get(ctx context.Context, c *http.Client, u string) (int, []byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, 0, err
	}
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, time.Since(t0), err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, b, time.Since(t0), err
}

// ocspVerifier checks OCSP answers, each distinct body once (answers
// come from the CA's cache: the same bytes until it signs again).
type ocspVerifier struct {
	t    *ocspTarget
	seen [][]byte
}

func (v *ocspVerifier) verify(body []byte) error {
	for _, b := range v.seen {
		if bytes.Equal(b, body) {
			return nil
		}
	}
	resp, err := xocsp.ParseResponseForCert(body, v.t.leaf, v.t.issuer)
	if err != nil {
		return err
	}
	if resp.Status != xocsp.Good {
		return fmt.Errorf("OCSP status %d, want good", resp.Status)
	}
	v.seen = append(v.seen, body)
	return nil
}

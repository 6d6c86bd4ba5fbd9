package certificate

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// Bounds of what --verify-crl and --verify-ocsp download.
const (
	maxCRLSize  = 128 << 20 // a CRL of 1,000,000 entries is about 46 MB
	maxOCSPSize = 64 << 10
	fetchTime   = 30 * time.Second
)

// revocationClient fetches CRLs and OCSP answers; HTTPS endpoints are
// trusted with roots (nil: the system's).
func revocationClient(roots *x509.CertPool) *http.Client {
	return &http.Client{Timeout: fetchTime, Transport: &http.Transport{
		Proxy:           http.ProxyFromEnvironment,
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
	}}
}

// fetch GETs or POSTs url and returns at most limit bytes of a 200 body.
func fetch(hc *http.Client, method, url, contentType string, body []byte, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTime)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", url, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("error connecting to %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("error downloading %s: unexpected HTTP status code - '%d'", url, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", url, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("error reading %s: response larger than %d bytes", url, limit)
	}
	return b, nil
}

// parseCRL reads a DER or PEM CRL.
func parseCRL(b []byte) (*x509.RevocationList, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "X509 CRL" {
			return nil, fmt.Errorf("expected a PEM block of type \"X509 CRL\", got %q", blk.Type)
		}
		b = blk.Bytes
	}
	return x509.ParseRevocationList(b)
}

// checkCRL verifies cert against the CRL at endpoint (default: its CRL
// distribution points, the first that answers): the CRL must be signed by
// issuer and current; cert must not be on it.
func checkCRL(hc *http.Client, cert, issuer *x509.Certificate, endpoint string, now time.Time) (string, error) {
	urls := cert.CRLDistributionPoints
	if endpoint != "" {
		urls = []string{endpoint}
	}
	if len(urls) == 0 {
		return "", errors.New("failed to verify certificate: the certificate has no CRL distribution point; use --crl-endpoint")
	}
	var lastErr error
	for _, u := range urls {
		b, err := fetch(hc, http.MethodGet, u, "", nil, maxCRLSize)
		if err != nil {
			lastErr = err
			continue
		}
		crl, err := parseCRL(b)
		if err != nil {
			return u, fmt.Errorf("error parsing CRL from %s: %w", u, err)
		}
		if err := crl.CheckSignatureFrom(issuer); err != nil {
			return u, fmt.Errorf("failed to verify certificate: the CRL from %s is not signed by the issuer: %w", u, err)
		}
		if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
			return u, fmt.Errorf("failed to verify certificate: the CRL from %s expired on %s", u, crl.NextUpdate.UTC().Format(time.RFC3339))
		}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				return u, fmt.Errorf("certificate has been revoked: serial number %s is in the CRL from %s (reason: %s, revoked at %s)",
					cert.SerialNumber, u, reasonName(e.ReasonCode), e.RevocationTime.UTC().Format(time.RFC3339))
			}
		}
		return u, nil
	}
	return "", lastErr
}

// checkOCSP asks the responder at endpoint (default: the certificate's
// AIA OCSP servers, the first that answers) about cert; the answer must be
// signed by issuer or a responder it delegated.
func checkOCSP(hc *http.Client, cert, issuer *x509.Certificate, endpoint string) (string, error) {
	urls := cert.OCSPServer
	if endpoint != "" {
		urls = []string{endpoint}
	}
	if len(urls) == 0 {
		return "", errors.New("failed to verify certificate: the certificate has no OCSP server; use --ocsp-endpoint")
	}
	req, err := xocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		return "", fmt.Errorf("error creating OCSP request: %w", err)
	}
	var lastErr error
	for _, u := range urls {
		b, err := fetch(hc, http.MethodPost, u, "application/ocsp-request", req, maxOCSPSize)
		if err != nil {
			lastErr = err
			continue
		}
		resp, err := xocsp.ParseResponseForCert(b, cert, issuer)
		if err != nil {
			return u, fmt.Errorf("failed to verify certificate: invalid OCSP response from %s: %w", u, err)
		}
		switch resp.Status {
		case xocsp.Good:
			return u, nil
		case xocsp.Revoked:
			return u, fmt.Errorf("certificate has been revoked: OCSP responder %s answered revoked (reason: %s, revoked at %s)",
				u, reasonName(resp.RevocationReason), resp.RevokedAt.UTC().Format(time.RFC3339))
		default:
			return u, fmt.Errorf("failed to verify certificate: OCSP responder %s does not know the certificate (status unknown)", u)
		}
	}
	return "", lastErr
}

var reasonNames = []string{"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
	"cessationOfOperation", "certificateHold", "", "removeFromCRL", "privilegeWithdrawn", "aACompromise"}

func reasonName(code int) string {
	if code >= 0 && code < len(reasonNames) && reasonNames[code] != "" {
		return reasonNames[code]
	}
	return fmt.Sprintf("code %d", code)
}

// Package ocsp is the CA's OCSP responder (RFC 6960, with RFC 5019's
// profile): answers signed by a delegated responder certificate
// (id-kp-OCSPSigning, id-pkix-ocsp-nocheck) that the CA issues itself and
// renews, good/revoked/unknown from the database, the nonce echoed when
// asked. Answers without a nonce are signed once and served from memory
// until half their validity has passed or the certificate is revoked.
package ocsp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // OCSP CertIDs use SHA-1 (RFC 5019 §2.1.1)
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	xocsp "golang.org/x/crypto/ocsp"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// Options are the "ocsp" block, resolved.
type Options struct {
	// Validity is nextUpdate − thisUpdate of a response (1h when 0).
	Validity time.Duration
	// ResponderLife is the responder certificate's validity (7 days when
	// 0, capped by the issuer's); it is renewed at two thirds of it.
	ResponderLife time.Duration
	// URL is the responder URL written in issued certificates' AIA.
	URL string
	// MaxCached bounds the responses kept in memory (100,000 when 0).
	MaxCached int
}

// Deps are what a Responder is built from.
type Deps struct {
	Store  store.Store
	Issuer *x509.Certificate
	Signer crypto.Signer // the issuer's key: signs the responder certificate only
	Now    func() time.Time
	Log    logrus.FieldLogger
}

// Response is one encoded OCSP response and what HTTP caching needs.
type Response struct {
	DER        []byte
	ThisUpdate time.Time
	NextUpdate time.Time
	// ETag is the quoted hex SHA-1 of DER.
	ETag string
	// Status is "good", "revoked", "unknown" or an error status name.
	Status string
	// Cacheable is false for answers with a nonce and error answers.
	Cacheable bool
	refreshAt time.Time
}

// responder is the current delegated responder certificate and its key.
type responder struct {
	cert *x509.Certificate
	key  crypto.Signer
	gen  uint64
}

// Responder answers OCSP requests. Safe for concurrent use.
type Responder struct {
	d          Deps
	o          Options
	nameHashes map[crypto.Hash][]byte
	keyHashes  map[crypto.Hash][]byte
	cur        atomic.Pointer[responder]

	mu    sync.RWMutex
	cache map[string]*Response // by decimal serial
}

// OIDNoCheck is id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1).
var OIDNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// New issues the first responder certificate and returns the responder.
func New(d Deps, o Options) (*Responder, error) {
	if d.Store == nil || d.Issuer == nil || d.Signer == nil {
		return nil, errors.New("ocsp: missing store or issuer")
	}
	if o.Validity <= 0 {
		o.Validity = time.Hour
	}
	if o.ResponderLife <= 0 {
		o.ResponderLife = 7 * 24 * time.Hour
	}
	if o.MaxCached <= 0 {
		o.MaxCached = 100_000
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		d.Log = l
	}
	r := &Responder{d: d, o: o, nameHashes: map[crypto.Hash][]byte{}, keyHashes: map[crypto.Hash][]byte{}, cache: map[string]*Response{}}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(d.Issuer.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, fmt.Errorf("ocsp: issuer public key: %w", err)
	}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		hn := h.New()
		hn.Write(d.Issuer.RawSubject)
		r.nameHashes[h] = hn.Sum(nil)
		hk := h.New()
		hk.Write(spki.PublicKey.RightAlign())
		r.keyHashes[h] = hk.Sum(nil)
	}
	if err := r.renewResponder(); err != nil {
		return nil, err
	}
	return r, nil
}

// Options returns the resolved options.
func (r *Responder) Options() Options { return r.o }

// Certificate returns the current responder certificate.
func (r *Responder) Certificate() *x509.Certificate { return r.cur.Load().cert }

// renewResponder issues a new responder certificate with a new P-256 key
// (kept in memory only) and drops the cached answers signed by the old one.
func (r *Responder) renewResponder() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := r.d.Now()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return err
	}
	nb, na := now.Add(-time.Minute), now.Add(r.o.ResponderLife)
	if na.After(r.d.Issuer.NotAfter) {
		na = r.d.Issuer.NotAfter
	}
	nocheck, _ := asn1.Marshal(asn1.NullRawValue)
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		Subject:         pkix.Name{CommonName: r.d.Issuer.Subject.CommonName + " OCSP Responder"},
		NotBefore:       nb.UTC(),
		NotAfter:        na.UTC(),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		ExtraExtensions: []pkix.Extension{{Id: OIDNoCheck, Value: nocheck}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, r.d.Issuer, key.Public(), r.d.Signer)
	if err != nil {
		return fmt.Errorf("ocsp: issue the responder certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	var gen uint64
	if old := r.cur.Load(); old != nil {
		gen = old.gen + 1
	}
	r.cur.Store(&responder{cert: cert, key: key, gen: gen})
	r.mu.Lock()
	clear(r.cache)
	r.mu.Unlock()
	r.d.Log.WithFields(logrus.Fields{"serial": serial.String(), "not-after": cert.NotAfter.Format(time.RFC3339)}).Info("OCSP responder certificate issued")
	return nil
}

// Run renews the responder certificate at two thirds of its life until
// ctx ends (a failure is logged and retried within a minute).
func (r *Responder) Run(ctx context.Context) error {
	for {
		c := r.Certificate()
		renewAt := c.NotBefore.Add(c.NotAfter.Sub(c.NotBefore) * 2 / 3)
		wait := renewAt.Sub(r.d.Now())
		if wait <= 0 {
			if err := r.renewResponder(); err != nil {
				r.d.Log.WithError(err).Error("OCSP responder certificate renewal failed")
				wait = time.Minute
			} else {
				continue
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Respond answers one DER request. Malformed requests and requests for
// another issuer get RFC 6960's error answers (malformedRequest,
// unauthorized), not Go errors; an error means the database failed.
func (r *Responder) Respond(ctx context.Context, der []byte) (*Response, error) {
	req, err := ParseRequest(der)
	if err != nil {
		return errorResponse(xocsp.MalformedRequestErrorResponse, "malformed"), nil
	}
	if !bytes.Equal(req.IssuerNameHash, r.nameHashes[req.HashAlgorithm]) || !bytes.Equal(req.IssuerKeyHash, r.keyHashes[req.HashAlgorithm]) {
		return errorResponse(xocsp.UnauthorizedErrorResponse, "unauthorized"), nil
	}
	serial := req.SerialNumber.String()
	now := r.d.Now()
	if req.Nonce == nil && req.HashAlgorithm == crypto.SHA1 {
		r.mu.RLock()
		resp := r.cache[serial]
		r.mu.RUnlock()
		if resp != nil && now.Before(resp.refreshAt) {
			return resp, nil
		}
	}
	resp, err := r.sign(ctx, req, now)
	if err != nil {
		return nil, err
	}
	if resp.Cacheable && req.HashAlgorithm == crypto.SHA1 {
		r.store(serial, resp)
	}
	return resp, nil
}

func (r *Responder) store(serial string, resp *Response) {
	r.mu.Lock()
	if len(r.cache) >= r.o.MaxCached {
		clear(r.cache) // rare; every entry is cheap to sign again
	}
	r.cache[serial] = resp
	r.mu.Unlock()
}

// Refresh signs serial's answer again (after its revocation), so that the
// next request gets the new status without waiting for a signature.
func (r *Responder) Refresh(ctx context.Context, serial string) error {
	sn, ok := new(big.Int).SetString(serial, 10)
	if !ok {
		return fmt.Errorf("ocsp: invalid serial %q", serial)
	}
	req := &Request{HashAlgorithm: crypto.SHA1, IssuerNameHash: r.nameHashes[crypto.SHA1], IssuerKeyHash: r.keyHashes[crypto.SHA1], SerialNumber: sn}
	resp, err := r.sign(ctx, req, r.d.Now())
	if err != nil {
		r.mu.Lock()
		delete(r.cache, serial)
		r.mu.Unlock()
		return err
	}
	r.store(serial, resp)
	return nil
}

// sign builds the answer for req from the database.
func (r *Responder) sign(ctx context.Context, req *Request, now time.Time) (*Response, error) {
	serial := req.SerialNumber.String()
	tmpl := xocsp.Response{SerialNumber: req.SerialNumber, IssuerHash: req.HashAlgorithm}
	status := "good"
	rev, err := r.d.Store.GetRevocation(ctx, serial)
	switch {
	case err == nil:
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = xocsp.Revoked, rev.RevokedAt.UTC().Truncate(time.Second), rev.ReasonCode
		status = "revoked"
	case errors.Is(err, store.ErrNotFound) || isNotImplemented(err):
		if _, err := r.d.Store.GetCertificate(ctx, serial); errors.Is(err, store.ErrNotFound) {
			tmpl.Status, status = xocsp.Unknown, "unknown"
		} else if err != nil {
			return nil, err
		} else {
			tmpl.Status = xocsp.Good
		}
	default:
		return nil, err
	}
	cur := r.cur.Load()
	this := now.UTC().Truncate(time.Second)
	tmpl.ThisUpdate, tmpl.NextUpdate = this, this.Add(r.o.Validity)
	tmpl.Certificate = cur.cert
	der, err := xocsp.CreateResponse(r.d.Issuer, cur.cert, tmpl, cur.key)
	if err != nil {
		return nil, fmt.Errorf("ocsp: sign: %w", err)
	}
	if req.Nonce != nil {
		if der, err = withNonce(der, req.Nonce, cur.key); err != nil {
			return nil, err
		}
	}
	sum := sha1.Sum(der) //nolint:gosec // an ETag, not a security check
	return &Response{
		DER: der, ThisUpdate: tmpl.ThisUpdate, NextUpdate: tmpl.NextUpdate, ETag: `"` + hex.EncodeToString(sum[:]) + `"`,
		Status: status, Cacheable: req.Nonce == nil, refreshAt: now.Add(r.o.Validity / 2),
	}, nil
}

func errorResponse(der []byte, status string) *Response {
	return &Response{DER: der, Status: status}
}

// isNotImplemented reports a store without revocations (no database):
// every known certificate is then good.
func isNotImplemented(err error) bool { return errs.Is(err, errs.NotImplemented) }

// OIDAuthorityInfoAccess is id-pe-authorityInfoAccess.
var OIDAuthorityInfoAccess = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}

var oidAccessOCSP = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1}

// AIAExtension returns the authority information access extension naming
// url as the OCSP responder (RFC 5280 §4.2.2.1), encoded once.
func AIAExtension(url string) (pkix.Extension, error) {
	type accessDescription struct {
		Method   asn1.ObjectIdentifier
		Location asn1.RawValue
	}
	v, err := asn1.Marshal([]accessDescription{{Method: oidAccessOCSP, Location: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(url)}}})
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: OIDAuthorityInfoAccess, Value: v}, nil
}

// Package crl builds, keeps and refreshes the CA's certificate revocation
// list (ca.json "crl", wire-spec §3.4 GET /crl): a v2 CRL signed by the
// issuing certificate with the authority key identifier, a CRL number taken
// from the database (monotonic, shared by every CA on it), a critical
// issuing distribution point and each entry's reason code. The current CRL
// is kept in memory; GET /crl never builds one unless none exists yet.
package crl

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// Options are the "crl" block, resolved.
type Options struct {
	// GenerateOnRevoke refreshes the CRL before a revocation returns.
	GenerateOnRevoke bool
	// CacheDuration is NextUpdate − ThisUpdate (24h when 0).
	CacheDuration time.Duration
	// RenewPeriod is the background regeneration period (2/3 of
	// CacheDuration when 0).
	RenewPeriod time.Duration
	// IDPURL is the issuing distribution point and the distribution point
	// written in issued certificates.
	IDPURL string
}

// Deps are what a Service is built from.
type Deps struct {
	Store  store.CRLStore
	Issuer *x509.Certificate // signs the CRL (needs the CRL Sign key usage)
	Signer crypto.Signer
	Now    func() time.Time
	Log    logrus.FieldLogger
}

// CRL is one signed CRL, immutable.
type CRL struct {
	DER        []byte
	PEM        []byte
	Number     int64
	ThisUpdate time.Time
	NextUpdate time.Time
	Entries    int
}

// Service keeps the current CRL. Safe for concurrent use.
type Service struct {
	d       Deps
	o       Options
	idpExt  pkix.Extension
	current atomic.Pointer[CRL]

	requested atomic.Uint64 // refresh requests made
	mu        sync.Mutex    // one generation at a time
	done      uint64        // requests covered by the last generation
	lastErr   error
}

// RetainAfterExpiry is how long an expired certificate stays on the CRL
// (step-ca lists revocations whose certificate expired less than 1h ago).
const RetainAfterExpiry = time.Hour

// New returns a service; it builds no CRL yet (Refresh, Run or Current do).
func New(d Deps, o Options) (*Service, error) {
	if d.Store == nil {
		return nil, errors.New("crl: the database does not keep revocations")
	}
	if d.Issuer == nil || d.Signer == nil {
		return nil, errors.New("crl: no issuer")
	}
	if d.Issuer.KeyUsage != 0 && d.Issuer.KeyUsage&x509.KeyUsageCRLSign == 0 {
		return nil, errors.New("crl: the issuing certificate lacks the CRL Sign key usage")
	}
	if o.CacheDuration <= 0 {
		o.CacheDuration = 24 * time.Hour
	}
	if o.RenewPeriod <= 0 {
		o.RenewPeriod = o.CacheDuration / 3 * 2
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		d.Log = l
	}
	idp, err := IDPExtension(o.IDPURL)
	if err != nil {
		return nil, err
	}
	return &Service{d: d, o: o, idpExt: idp}, nil
}

// Options returns the resolved options.
func (s *Service) Options() Options { return s.o }

// Current returns the CRL in memory, building the first one if there is
// none yet.
func (s *Service) Current(ctx context.Context) (*CRL, error) {
	if c := s.current.Load(); c != nil {
		return c, nil
	}
	if err := s.Refresh(ctx); err != nil {
		return nil, err
	}
	return s.current.Load(), nil
}

// Refresh builds a CRL that includes every revocation committed before it
// was called. Concurrent calls share one generation when they can: a call
// returns once a generation that started after it completed.
func (s *Service) Refresh(ctx context.Context) error {
	want := s.requested.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done >= want {
		return s.lastErr
	}
	covered := s.requested.Load()
	c, err := s.generate(ctx)
	s.done, s.lastErr = covered, err
	if err != nil {
		return err
	}
	s.current.Store(c)
	s.d.Log.WithFields(logrus.Fields{"crl-number": c.Number, "entries": c.Entries, "next-update": c.NextUpdate.Format(time.RFC3339)}).Info("CRL generated")
	return nil
}

// Run refreshes the CRL now and every RenewPeriod until ctx ends; a
// failure is logged and retried at the next period (or within a minute).
func (s *Service) Run(ctx context.Context) error {
	for {
		wait := s.o.RenewPeriod
		if err := s.Refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.d.Log.WithError(err).Error("CRL generation failed")
			wait = min(wait, time.Minute)
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

// generate lists the revocations, takes a CRL number and signs.
func (s *Service) generate(ctx context.Context) (*CRL, error) {
	now := s.d.Now().UTC()
	var entries []x509.RevocationListEntry
	err := s.d.Store.ListRevocations(ctx, now.Add(-RetainAfterExpiry), func(r *store.Revocation) error {
		sn, ok := new(big.Int).SetString(r.Serial, 10)
		if !ok {
			s.d.Log.WithField("serial", r.Serial).Warn("CRL: revocation with an invalid serial left out")
			return nil
		}
		entries = append(entries, x509.RevocationListEntry{SerialNumber: sn, RevocationTime: r.RevokedAt.UTC(), ReasonCode: r.ReasonCode})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("crl: list revocations: %w", err)
	}
	n, err := s.d.Store.NextCRLNumber(ctx)
	if err != nil {
		return nil, fmt.Errorf("crl: take CRL number: %w", err)
	}
	return Sign(entries, n, now, s.o.CacheDuration, s.idpExt, s.d.Issuer, s.d.Signer)
}

// Sign builds and signs one CRL.
func Sign(entries []x509.RevocationListEntry, number int64, now time.Time, validity time.Duration, idp pkix.Extension, issuer *x509.Certificate, signer crypto.Signer) (*CRL, error) {
	tmpl := &x509.RevocationList{
		RevokedCertificateEntries: entries,
		Number:                    big.NewInt(number),
		ThisUpdate:                now,
		NextUpdate:                now.Add(validity),
		ExtraExtensions:           []pkix.Extension{idp},
	}
	der, err := createList(tmpl, issuer, signer)
	if err != nil {
		return nil, fmt.Errorf("crl: sign: %w", err)
	}
	return &CRL{
		DER: der, PEM: pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}),
		Number: number, ThisUpdate: tmpl.ThisUpdate, NextUpdate: tmpl.NextUpdate, Entries: len(entries),
	}, nil
}

// OIDIssuingDistributionPoint is id-ce-issuingDistributionPoint (RFC 5280 §5.2.5).
var OIDIssuingDistributionPoint = asn1.ObjectIdentifier{2, 5, 29, 28}

// IDPExtension returns the critical issuing distribution point extension
// naming url as its full name, as step-ca writes it.
func IDPExtension(url string) (pkix.Extension, error) {
	// IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL, ... }
	// DistributionPointName ::= CHOICE { fullName [0] GeneralNames, ... }
	// GeneralName uniformResourceIdentifier [6] IA5String
	uri := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(url)}
	uriDER, err := asn1.Marshal(uri)
	if err != nil {
		return pkix.Extension{}, err
	}
	fullName, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: uriDER})
	if err != nil {
		return pkix.Extension{}, err
	}
	dp, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: fullName})
	if err != nil {
		return pkix.Extension{}, err
	}
	v, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: dp})
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: OIDIssuingDistributionPoint, Critical: true, Value: v}, nil
}

// CDPExtension returns the CRL distribution points extension of issued
// certificates naming url (RFC 5280 §4.2.1.13), encoded once.
func CDPExtension(url string) (pkix.Extension, error) {
	// CRLDistributionPoints ::= SEQUENCE OF DistributionPoint
	// DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL, ... }
	uriDER, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(url)})
	if err != nil {
		return pkix.Extension{}, err
	}
	fullName, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: uriDER})
	dpName, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: fullName})
	dp, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: dpName})
	v, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: dp})
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: OIDCRLDistributionPoints, Value: v}, nil
}

// OIDCRLDistributionPoints is id-ce-cRLDistributionPoints.
var OIDCRLDistributionPoints = asn1.ObjectIdentifier{2, 5, 29, 31}

package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/issuer"
)

// ServerCertLifetime is the lifetime of the CA's own TLS certificate (wire-spec §2.3).
const ServerCertLifetime = 24 * time.Hour

// newServerCertificate issues the CA's TLS certificate with a fresh P-256 key:
// CN commonName, SANs dnsNames, 24 h, chain leaf + intermediates.
func newServerCertificate(a *authority.Authority, commonName string, dnsNames []string, now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	ski, err := issuer.KeyID(spki)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(ServerCertLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		SubjectKeyId: ski,
	}
	for _, n := range dnsNames {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	if u := a.Upstream(); u != nil {
		return upstreamServerCertificate(u, tmpl, key)
	}
	der, err := a.Issuer().Sign(tmpl, &key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("error issuing the CA's TLS certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	cert := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	for _, c := range a.Issuer().Chain() {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, nil
}

// upstreamTLSTimeout bounds the upstream's answer for the CA's TLS certificate.
const upstreamTLSTimeout = 30 * time.Second

// upstreamServerCertificate has a registration authority's TLS certificate
// signed by its upstream CA (docs/ra.md), with the upstream provisioner's
// default validity; the renew loop renews it like a local one.
func upstreamServerCertificate(u authority.Upstream, tmpl *x509.Certificate, key *ecdsa.PrivateKey) (*tls.Certificate, error) {
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: tmpl.Subject, DNSNames: tmpl.DNSNames, IPAddresses: tmpl.IPAddresses,
	}, key)
	if err != nil {
		return nil, err
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, err
	}
	req := &x509.Certificate{Subject: tmpl.Subject, DNSNames: tmpl.DNSNames, IPAddresses: tmpl.IPAddresses}
	ctx, cancel := context.WithTimeout(context.Background(), upstreamTLSTimeout)
	defer cancel()
	leaf, chain, err := u.Sign(ctx, csr, req, nil)
	if err != nil {
		return nil, fmt.Errorf("error issuing the CA's TLS certificate: %w", err)
	}
	cert := &tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, nil
}

// clientPools are the trust anchors for client certificates: roots and the
// intermediates, as step-ca's ClientCAs.
type clientPools struct {
	anchors *x509.CertPool
}

func newClientPools(a *authority.Authority) *clientPools {
	p := a.RootPool().Clone()
	for _, c := range a.Issuer().Chain() {
		p.AddCert(c)
	}
	return &clientPools{anchors: p}
}

// verifyClient checks a presented client chain; no certificate is fine
// (step-ca's VerifyClientCertIfGiven).
func (p *clientPools) verifyClient(cs tls.ConnectionState, now time.Time) error {
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: p.anchors, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return fmt.Errorf("client certificate: %w", err)
	}
	return nil
}

// TLSOptions are the protocol settings of the ca.json "tls" block, resolved.
type TLSOptions struct {
	MinVersion, MaxVersion uint16
	CipherSuites           []uint16
}

var errNoCertificate = errors.New("the CA's TLS certificate is not ready")

package main

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/mayfly-pki/mayfly/api/wire"
)

// decodeResponse returns the DER certificates of a sign/renew response body,
// leaf first: "crt" followed by "certChain" without its first element (or
// "ca" when there is no certChain). It checks the shape only: certChain[0]
// must equal crt, and every element must be one PEM certificate.
func decodeResponse(body []byte) ([][]byte, error) {
	var r wire.SignResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("response is not a sign response: %v", err)
	}
	if r.Certificate == "" {
		return nil, errors.New(`response has no "crt"`)
	}
	rest := r.CertChain
	switch {
	case len(rest) > 0:
		if strings.TrimSpace(rest[0]) != strings.TrimSpace(r.Certificate) {
			return nil, errors.New(`response "certChain"[0] differs from "crt"`)
		}
		rest = rest[1:]
	case r.CA != nil:
		rest = []string{*r.CA}
	}
	ders := make([][]byte, 0, 1+len(rest))
	for i, s := range append([]string{r.Certificate}, rest...) {
		b, tail := pem.Decode([]byte(s))
		if b == nil || b.Type != "CERTIFICATE" || strings.TrimSpace(string(tail)) != "" {
			return nil, fmt.Errorf("response certificate %d is not one PEM CERTIFICATE", i)
		}
		ders = append(ders, b.Bytes)
	}
	return ders, nil
}

// verifyResponse checks a 2xx sign/renew response for key k: the leaf chains
// to roots through the returned intermediates (any extended key usage), its
// common name is k.name and its public key is k's. It returns the leaf and
// the DER chain, leaf first.
func verifyResponse(body []byte, k *clientKey, roots *x509.CertPool) (*x509.Certificate, [][]byte, error) {
	ders, err := decodeResponse(body)
	if err != nil {
		return nil, nil, err
	}
	leaf, err := x509.ParseCertificate(ders[0])
	if err != nil {
		return nil, nil, fmt.Errorf("crt: %v", err)
	}
	inter := x509.NewCertPool()
	for i, der := range ders[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, fmt.Errorf("certChain[%d]: %v", i+1, err)
		}
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return nil, nil, fmt.Errorf("chain: %v", err)
	}
	if leaf.Subject.CommonName != k.name {
		return nil, nil, fmt.Errorf("leaf common name %q, want %q", leaf.Subject.CommonName, k.name)
	}
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&k.key.PublicKey) {
		return nil, nil, errors.New("leaf public key is not the client key")
	}
	return leaf, ders, nil
}

// tlsCertificate builds the client certificate for a handshake from a
// response body, without verifying it (that happens after the timed phase).
func tlsCertificate(body []byte, k *clientKey) (*tls.Certificate, error) {
	ders, err := decodeResponse(body)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: ders, PrivateKey: k.key}, nil
}

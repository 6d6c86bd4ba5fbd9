package ocsp

import (
	"crypto"
	"encoding/asn1"
	"errors"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// MaxRequestSize bounds an OCSP request: one CertID with a nonce is about
// 100 bytes; a signed request with a certificate chain a few kilobytes.
const MaxRequestSize = 8 << 10

// Request is the first CertID of an OCSP request and its nonce.
type Request struct {
	HashAlgorithm  crypto.Hash
	IssuerNameHash []byte
	IssuerKeyHash  []byte
	SerialNumber   *big.Int
	// Nonce is the id-pkix-ocsp-nonce extension's value (DER as sent), nil
	// when absent.
	Nonce []byte
}

var (
	oidNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	hashOIDs = map[string]crypto.Hash{
		"1.3.14.3.2.26":          crypto.SHA1,
		"2.16.840.1.101.3.4.2.1": crypto.SHA256,
		"2.16.840.1.101.3.4.2.2": crypto.SHA384,
		"2.16.840.1.101.3.4.2.3": crypto.SHA512,
	}
	errMalformed = errors.New("ocsp: malformed request")
)

// ParseRequest reads an OCSPRequest (RFC 6960 §4.1.1): the first request
// of the list and the request-level nonce. golang.org/x/crypto/ocsp's
// parser drops the extensions, so the nonce could not be echoed.
func ParseRequest(der []byte) (*Request, error) {
	if len(der) > MaxRequestSize {
		return nil, errMalformed
	}
	in := cryptobyte.String(der)
	var req, tbs cryptobyte.String
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !in.Empty() || !req.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, errMalformed
	}
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) || // version
		!tbs.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) { // requestorName
		return nil, errMalformed
	}
	var list, one, certID cryptobyte.String
	if !tbs.ReadASN1(&list, cbasn1.SEQUENCE) || !list.ReadASN1(&one, cbasn1.SEQUENCE) || !one.ReadASN1(&certID, cbasn1.SEQUENCE) {
		return nil, errMalformed
	}
	r := &Request{}
	var alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !certID.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, errMalformed
	}
	h, ok := hashOIDs[oid.String()]
	if !ok {
		return nil, errMalformed
	}
	r.HashAlgorithm = h
	var nameHash, keyHash cryptobyte.String
	r.SerialNumber = new(big.Int)
	if !certID.ReadASN1(&nameHash, cbasn1.OCTET_STRING) || !certID.ReadASN1(&keyHash, cbasn1.OCTET_STRING) ||
		!certID.ReadASN1Integer(r.SerialNumber) {
		return nil, errMalformed
	}
	r.IssuerNameHash, r.IssuerKeyHash = []byte(nameHash), []byte(keyHash)
	var exts cryptobyte.String
	var has bool
	if !tbs.ReadOptionalASN1(&exts, &has, cbasn1.Tag(2).Constructed().ContextSpecific()) {
		return nil, errMalformed
	}
	if has {
		var seq cryptobyte.String
		if !exts.ReadASN1(&seq, cbasn1.SEQUENCE) {
			return nil, errMalformed
		}
		for !seq.Empty() {
			var ext cryptobyte.String
			var id asn1.ObjectIdentifier
			if !seq.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&id) {
				return nil, errMalformed
			}
			if !ext.SkipOptionalASN1(cbasn1.BOOLEAN) {
				return nil, errMalformed
			}
			var val cryptobyte.String
			if !ext.ReadASN1(&val, cbasn1.OCTET_STRING) {
				return nil, errMalformed
			}
			if id.Equal(oidNonce) {
				r.Nonce = append([]byte(nil), val...)
			}
		}
	}
	return r, nil
}

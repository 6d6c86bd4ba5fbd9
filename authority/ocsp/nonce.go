package ocsp

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
)

// The outer layers of an OCSP response (RFC 6960 §4.2.1), as raw values.
type responseASN1 struct {
	Status   asn1.Enumerated
	Response responseBytes `asn1:"explicit,tag:0,optional"`
}

type responseBytes struct {
	ResponseType asn1.ObjectIdentifier
	Response     []byte
}

type basicResponse struct {
	TBSResponseData    asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
	Certificates       []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

// withNonce adds the request's nonce to a response's responseExtensions
// (RFC 6960 §4.4.1; x/crypto/ocsp can only write singleExtensions) and
// signs the response data again with key (a P-256 responder key: ECDSA
// with SHA-256, the algorithm x/crypto chose).
func withNonce(der, nonce []byte, key crypto.Signer) ([]byte, error) {
	var resp responseASN1
	if rest, err := asn1.Unmarshal(der, &resp); err != nil || len(rest) > 0 {
		return nil, errors.New("ocsp: re-encode response")
	}
	var basic basicResponse
	if rest, err := asn1.Unmarshal(resp.Response.Response, &basic); err != nil || len(rest) > 0 {
		return nil, errors.New("ocsp: re-encode basic response")
	}
	exts, err := asn1.Marshal([]pkix.Extension{{Id: oidNonce, Value: nonce}})
	if err != nil {
		return nil, err
	}
	tagged, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: exts})
	if err != nil {
		return nil, err
	}
	tbs, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true,
		Bytes: append(append([]byte{}, basic.TBSResponseData.Bytes...), tagged...)})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(tbs)
	sig, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	basic.TBSResponseData = asn1.RawValue{FullBytes: tbs}
	basic.Signature = asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}
	if resp.Response.Response, err = asn1.Marshal(basic); err != nil {
		return nil, err
	}
	return asn1.Marshal(resp)
}

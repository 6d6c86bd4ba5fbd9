package csrparse

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

const (
	oidExtensionRequest = "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0e" // 1.2.840.113549.1.9.14

	// maxExtensions bounds the quadratic duplicate check; real requests
	// carry a handful of extensions, larger ones go to x509.
	maxExtensions = 32
)

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// parseName fills name from a DER Name element. x509 decodes the subject
// into a pkix.RDNSequence with encoding/asn1 and calls FillFromRDNSequence;
// we build the same sequence and call the same method.
func (p *parser) parseName(der cryptobyte.String, name *pkix.Name) bool {
	var rdns cryptobyte.String
	if !der.ReadASN1(&rdns, cbasn1.SEQUENCE) {
		return false
	}
	var seq pkix.RDNSequence
	for !rdns.Empty() {
		var set cryptobyte.String
		if !rdns.ReadASN1(&set, cbasn1.SET) {
			return false
		}
		var rdn pkix.RelativeDistinguishedNameSET
		for !set.Empty() {
			atv, ok := p.readATV(&set)
			if !ok {
				return false
			}
			rdn = append(rdn, atv)
		}
		seq = append(seq, rdn)
	}
	name.FillFromRDNSequence(&seq)
	return true
}

// parseAttributes fills Attributes, Extensions and the subject alternative
// names from the contents of the [0] attributes field.
//
// x509 reads the attributes twice: every one that encoding/asn1 can decode
// as a pkix.AttributeTypeAndValueSET lands in the deprecated Attributes
// field (the others are silently dropped), and the first value of every
// extensionRequest attribute is decoded as a list of extensions.
func (p *parser) parseAttributes(attrs cryptobyte.String) bool {
	csr := p.csr
	for !attrs.Empty() {
		var attr, values cryptobyte.String
		if !attrs.ReadASN1(&attr, cbasn1.SEQUENCE) {
			return false
		}
		typ, rawType, ok := p.readOID(&attr)
		if !ok || !attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() {
			return false
		}
		set, keep, ok := p.attributeSet(values)
		if !ok {
			return false
		}
		if keep {
			csr.Attributes = append(csr.Attributes, pkix.AttributeTypeAndValueSET{Type: typ, Value: set})
		}
		if string(rawType) == oidExtensionRequest && !values.Empty() {
			var exts cryptobyte.String
			if !values.ReadASN1(&exts, cbasn1.SEQUENCE) || !p.readExtensions(exts) {
				return false
			}
		}
	}
	if len(csr.Extensions) > maxExtensions || hasDuplicateExtension(csr.Extensions) {
		return false
	}
	copyExtensionValues(csr.Extensions)
	for _, ext := range csr.Extensions {
		if ext.Id.Equal(oidSubjectAltName) && !parseSAN(ext.Value, csr) {
			return false
		}
	}
	return true
}

// attributeSet decodes the SET of values of one attribute as encoding/asn1
// decodes it into pkix.AttributeTypeAndValueSET.Value. keep reports whether
// that decoding succeeds, i.e. whether x509 lists the attribute in
// Attributes.
func (p *parser) attributeSet(values cryptobyte.String) (set [][]pkix.AttributeTypeAndValue, keep, ok bool) {
	if values.Empty() {
		// encoding/asn1 yields an empty, non-nil slice.
		return [][]pkix.AttributeTypeAndValue{}, true, true
	}
	if tag := values[0]; tag&0xe0 == 0 {
		// A primitive universal value, such as challengePassword's string.
		// encoding/asn1 rejects a SET OF SEQUENCE at its first element that
		// is not a SEQUENCE, so x509 drops the attribute. We still insist
		// that all elements are well-formed.
		var elem cryptobyte.String
		for !values.Empty() {
			if !values.ReadAnyASN1Element(&elem, nil) {
				return nil, false, false
			}
		}
		return nil, false, true
	}
	for rest := values; !rest.Empty(); {
		var seq cryptobyte.String
		if !rest.ReadASN1(&seq, cbasn1.SEQUENCE) {
			return nil, false, false
		}
		// Not nil even when empty, matching encoding/asn1.
		atvs := []pkix.AttributeTypeAndValue{}
		for !seq.Empty() {
			atv, ok := p.readATV(&seq)
			if !ok {
				return nil, false, false
			}
			atvs = append(atvs, atv)
		}
		set = append(set, atvs)
	}
	return set, true, true
}

// readExtensions appends the Extensions of one extensionRequest to
// csr.Extensions. Values still alias der; copyExtensionValues fixes that.
func (p *parser) readExtensions(exts cryptobyte.String) bool {
	for !exts.Empty() {
		// Extension ::= SEQUENCE {
		//   extnID    OBJECT IDENTIFIER,
		//   critical  BOOLEAN DEFAULT FALSE,
		//   extnValue OCTET STRING }
		var ext, value cryptobyte.String
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) {
			return false
		}
		id, _, ok := p.readOID(&ext)
		if !ok {
			return false
		}
		var critical bool
		if ext.PeekASN1Tag(cbasn1.BOOLEAN) && !ext.ReadASN1Boolean(&critical) {
			return false
		}
		if !ext.ReadASN1(&value, cbasn1.OCTET_STRING) || !ext.Empty() {
			return false
		}
		p.csr.Extensions = append(p.csr.Extensions, pkix.Extension{Id: id, Critical: critical, Value: value})
	}
	return true
}

// hasDuplicateExtension reports whether an extension appears twice, which
// x509 rejects across all extensionRequest attributes.
func hasDuplicateExtension(exts []pkix.Extension) bool {
	for i := range exts {
		for j := range i {
			if slices.Equal(exts[i].Id, exts[j].Id) {
				return true
			}
		}
	}
	return false
}

// copyExtensionValues moves the extension values out of the input buffer.
// encoding/asn1 copies []byte fields, so callers of x509 may modify der
// without affecting Extensions. One shared buffer keeps that property with a
// single allocation; each value gets its own capacity so appends stay apart.
func copyExtensionValues(exts []pkix.Extension) {
	n := 0
	for _, e := range exts {
		n += len(e.Value)
	}
	buf := make([]byte, n)
	for i := range exts {
		v := exts[i].Value
		c := copy(buf, v)
		exts[i].Value, buf = buf[:c:c], buf[c:]
	}
}

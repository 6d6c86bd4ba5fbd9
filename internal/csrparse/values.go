package csrparse

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// This file decodes the values that x509 obtains from encoding/asn1:
// OBJECT IDENTIFIERs and the `any`-typed value of pkix.AttributeTypeAndValue.

// readOID reads an OBJECT IDENTIFIER element from s. It returns the decoded
// arcs (carved from the parser's arena) and the raw contents, which are a
// canonical key: encoding/asn1 rejects non-minimal arcs, so two encodings
// that both pass are equal exactly when their OIDs are.
func (p *parser) readOID(s *cryptobyte.String) (asn1.ObjectIdentifier, []byte, bool) {
	var der cryptobyte.String
	if !s.ReadASN1(&der, cbasn1.OBJECT_IDENTIFIER) || len(der) == 0 {
		return nil, nil, false
	}
	if p.arcs == nil {
		p.arcs = make([]int, 0, 32)
	}
	raw, start := []byte(der), len(p.arcs)
	for first := true; len(der) > 0; first = false {
		arc, ok := readArc(&der)
		if !ok {
			p.arcs = p.arcs[:start]
			return nil, nil, false
		}
		switch {
		case !first:
			p.arcs = append(p.arcs, arc)
		case arc < 80:
			// The first subidentifier packs two arcs as 40*a + b.
			p.arcs = append(p.arcs, arc/40, arc%40)
		default:
			p.arcs = append(p.arcs, 2, arc-80)
		}
	}
	// The full slice expression keeps OIDs of one request independent: an
	// append to one reallocates instead of overwriting its neighbour.
	end := len(p.arcs)
	return asn1.ObjectIdentifier(p.arcs[start:end:end]), raw, true
}

// readArc reads one base-128 subidentifier. It accepts a strict subset of
// encoding/asn1: minimal encodings of at most four bytes, so values stay
// below 2^28 and asn1's 32-bit limit never comes into play.
func readArc(der *cryptobyte.String) (int, bool) {
	b := *der
	if b[0] == 0x80 { // leading zero bits: not minimal
		return 0, false
	}
	v := 0
	for i := 0; i < len(b) && i < 4; i++ {
		v = v<<7 | int(b[i]&0x7f)
		if b[i]&0x80 == 0 {
			*der = b[i+1:]
			return v, true
		}
	}
	return 0, false
}

// readATV reads an AttributeTypeAndValue SEQUENCE the way encoding/asn1
// fills pkix.AttributeTypeAndValue: the type, then the first following
// element as the value. Like encoding/asn1 it ignores anything after that
// element (this is how the critical flag shadows an extension's value when
// x509 reads extension requests as attributes).
func (p *parser) readATV(s *cryptobyte.String) (pkix.AttributeTypeAndValue, bool) {
	var atv, value cryptobyte.String
	var tag cbasn1.Tag
	if !s.ReadASN1(&atv, cbasn1.SEQUENCE) {
		return pkix.AttributeTypeAndValue{}, false
	}
	typ, _, ok := p.readOID(&atv)
	if !ok || !atv.ReadAnyASN1(&value, &tag) {
		return pkix.AttributeTypeAndValue{}, false
	}
	v, ok := anyValue(tag, value)
	return pkix.AttributeTypeAndValue{Type: typ, Value: v}, ok
}

// anyValue converts an element to what encoding/asn1 stores in an `any`
// field. encoding/asn1 only decodes primitive universal types it knows and
// leaves everything else nil. Of the types it knows, INTEGER, BIT STRING,
// OBJECT IDENTIFIER and the time types are not modelled here (ok is false).
func anyValue(tag cbasn1.Tag, v []byte) (any, bool) {
	switch tag {
	case cbasn1.BOOLEAN:
		if len(v) != 1 || v[0] != 0 && v[0] != 0xff {
			return nil, false
		}
		return v[0] != 0, true
	case cbasn1.OCTET_STRING:
		return v, true // not copied, as encoding/asn1 does not copy it
	case cbasn1.PrintableString:
		return checkedString(v, isPrintable)
	case cbasn1.UTF8String:
		if !utf8.Valid(v) {
			return nil, false
		}
		return string(v), true
	case cbasn1.IA5String:
		return checkedString(v, isASCII)
	case cbasn1.Tag(asn1.TagNumericString):
		return checkedString(v, isNumeric)
	case cbasn1.T61String:
		return latin1String(v), true
	case cbasn1.Tag(asn1.TagBMPString):
		return bmpString(v)
	case cbasn1.INTEGER, cbasn1.BIT_STRING, cbasn1.OBJECT_IDENTIFIER,
		cbasn1.UTCTime, cbasn1.GeneralizedTime:
		return nil, false
	}
	return nil, true
}

// checkedString returns v as a string if every byte satisfies valid.
func checkedString(v []byte, valid func(byte) bool) (any, bool) {
	for _, b := range v {
		if !valid(b) {
			return nil, false
		}
	}
	return string(v), true
}

// isPrintable reports whether encoding/asn1 accepts b in a PrintableString.
// Beyond X.680 it allows '*' and '&', which appear in real certificates.
func isPrintable(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	switch b {
	case ' ', '\'', '(', ')', '+', ',', '-', '.', '/', ':', '=', '?', '*', '&':
		return true
	}
	return false
}

func isASCII(b byte) bool { return b < utf8.RuneSelf }

func isNumeric(b byte) bool { return '0' <= b && b <= '9' || b == ' ' }

// latin1String decodes a T61String the way Go does: as ISO 8859-1.
func latin1String(v []byte) string {
	buf := make([]byte, 0, 2*len(v))
	for _, b := range v {
		buf = utf8.AppendRune(buf, rune(b))
	}
	return string(buf)
}

// bmpString decodes a BMPString (UCS-2, big endian) as Go does: one
// trailing NUL code unit is dropped, and surrogates and the permanent
// noncharacters U+FDD0..U+FDEF, U+FFFE and U+FFFF are rejected.
func bmpString(v []byte) (any, bool) {
	if len(v)%2 != 0 {
		return nil, false
	}
	if n := len(v); n >= 2 && v[n-1] == 0 && v[n-2] == 0 {
		v = v[:n-2]
	}
	buf := make([]byte, 0, 3*len(v)/2)
	for i := 0; i < len(v); i += 2 {
		r := rune(v[i])<<8 | rune(v[i+1])
		if r >= 0xd800 && r <= 0xdfff || r >= 0xfdd0 && r <= 0xfdef || r >= 0xfffe {
			return nil, false
		}
		buf = utf8.AppendRune(buf, r)
	}
	return string(buf), true
}

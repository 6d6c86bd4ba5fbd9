package templates

import (
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The ASN.1 helpers of step's templates, for building extension values:
//
//	{{ asn1Enc "int:42" }}              base64 DER of INTEGER 42
//	{{ asn1Enc "utf8:Jane" }}           UTF8String (also printable, ia5, numeric, oid, bool, raw)
//	{{ asn1Enc "Jane" }}                PrintableString, the default type
//	{{ asn1Seq (asn1Enc "int:1") (asn1Enc "utf8:a") }}   SEQUENCE of base64 DER values
//	{{ asn1Set ... }}                   SET of the same
//	{{ asn1Marshal 42 "explicit,tag:0" }}  encoding/asn1 with field parameters
//
// Every function returns base64, which is what an extension's "value" wants.

// asn1Encode encodes "type:value" (PrintableString when no known type prefix).
func asn1Encode(s string) (string, error) {
	typ, value := "printable", s
	if t, v, ok := strings.Cut(s, ":"); ok {
		typ, value = t, v
	}
	der, err := marshalTyped(value, typ)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// marshalTyped returns the DER of value as the ASN.1 type typ. An unknown
// typ is not a type prefix: the whole "typ:value" is a PrintableString.
func marshalTyped(value, typ string) ([]byte, error) {
	switch typ {
	case "int":
		i, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid int value %q", value)
		}
		return asn1.Marshal(i)
	case "bool":
		b, err := strconv.ParseBool(value)
		if err != nil {
			return nil, fmt.Errorf("invalid bool value %q", value)
		}
		return asn1.Marshal(b)
	case "oid":
		oid, err := parseOID(value)
		if err != nil {
			return nil, err
		}
		return asn1.Marshal(oid)
	case "raw":
		der, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return nil, fmt.Errorf("invalid raw value: not base64")
		}
		return der, nil
	case "utf8":
		if !utf8.ValidString(value) {
			return nil, fmt.Errorf("invalid utf8 value %q", value)
		}
		return asn1.MarshalWithParams(value, "utf8")
	case "ia5":
		for _, r := range value {
			if r > 127 {
				return nil, fmt.Errorf("invalid ia5 value %q", value)
			}
		}
		return asn1.MarshalWithParams(value, "ia5")
	case "numeric":
		for _, r := range value {
			if (r < '0' || r > '9') && r != ' ' {
				return nil, fmt.Errorf("invalid numeric value %q", value)
			}
		}
		return asn1.MarshalWithParams(value, "numeric")
	case "printable":
		return marshalPrintable(value)
	}
	return marshalPrintable(typ + ":" + value)
}

func marshalPrintable(s string) ([]byte, error) {
	der, err := asn1.MarshalWithParams(s, "printable")
	if err != nil {
		return nil, fmt.Errorf("invalid printable value %q", s)
	}
	return der, nil
}

// asn1Marshal encodes v with encoding/asn1 field parameters ("utf8",
// "explicit,tag:0", ...).
func asn1Marshal(v any, params ...string) (string, error) {
	der, err := asn1.MarshalWithParams(v, strings.Join(params, ","))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

func asn1Sequence(b64 ...string) (string, error) { return asn1Constructed(asn1.TagSequence, b64) }
func asn1Set(b64 ...string) (string, error)      { return asn1Constructed(asn1.TagSet, b64) }

// asn1Constructed wraps base64 DER values in a SEQUENCE or SET.
func asn1Constructed(tag int, b64 []string) (string, error) {
	var body []byte
	for _, s := range b64 {
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", fmt.Errorf("invalid ASN.1 value: not base64")
		}
		body = append(body, der...)
	}
	der, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: tag, IsCompound: true, Bytes: body})
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

package certinfo

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	t.Parallel()
	n := pkix.Name{Names: []pkix.AttributeTypeAndValue{
		{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "US"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "Acme, Inc"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "Acme Root"},
		{Type: oidEmailAddress, Value: "a@b.c"},
		{Type: oidDC, Value: "example"},
		{Type: asn1.ObjectIdentifier{1, 2, 3}, Value: "x"},
	}}
	if got, want := Name(n), "C=US,O=Acme, Inc,CN=Acme Root,emailAddress=a@b.c,DC=example,1.2.3=x"; got != want {
		t.Fatalf("Name = %q, want %q", got, want)
	}
}

func TestHexBig(t *testing.T) {
	t.Parallel()
	tests := map[int64]string{0: "0x00", 1: "0x01", 4: "0x04", 255: "0xff", 256: "0x0100"}
	for in, want := range tests {
		if got := hexBig(big.NewInt(in)); got != want {
			t.Errorf("hexBig(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestKeyUsagesAndEKU(t *testing.T) {
	t.Parallel()
	// digitalSignature (bit 0), keyCertSign (bit 5), cRLSign (bit 6).
	bits := asn1.BitString{Bytes: []byte{0x86}, BitLength: 7}
	if got := strings.Join(KeyUsages(bits), ", "); got != "Digital Signature, Certificate Sign, CRL Sign" {
		t.Fatalf("KeyUsages = %q", got)
	}
	if got := ExtKeyUsageName(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}); got != "Server Authentication" {
		t.Fatalf("EKU name = %q", got)
	}
	if got := ExtKeyUsageName(asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}); got != "UNKNOWN(1.2.840.10045.4.3.4)" {
		t.Fatalf("unknown EKU = %q", got)
	}
}

func TestWriteHexBlock(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	writeHexBlock(&b, []byte{1, 2, 3, 4}, 3, 2)
	if got, want := b.String(), "\n  01:02:03:\n  04\n"; got != want {
		t.Fatalf("writeHexBlock = %q, want %q", got, want)
	}
	if got := shortSerial("123456789012345678901234567890"); got != "1234...7890" {
		t.Fatalf("shortSerial = %q", got)
	}
	if got := shortSerial("1234"); got != "1234" {
		t.Fatalf("shortSerial short = %q", got)
	}
}

package provisioner

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"testing"
)

func TestExtensionRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		info Info
		kv   []string
	}{
		{"jwk", Info{Name: "admin", Type: TypeJWK, CredentialID: "kid-123"}, nil},
		{"aws with pairs", Info{Name: "aws", Type: TypeAWS, CredentialID: "1234"}, []string{"InstanceID", "i-0abc"}},
		{"empty credential", Info{Name: "acme", Type: TypeACME}, nil},
		{"utf8 name", Info{Name: "prov é", Type: TypeX5C}, []string{"k", "vé"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ext, err := NewExtension(tc.info, tc.kv...)
			if err != nil {
				t.Fatal(err)
			}
			if !ext.Id.Equal(ExtensionOID) || ext.Critical {
				t.Fatalf("extension id %v critical %v, want %v non-critical", ext.Id, ext.Critical, ExtensionOID)
			}
			cert := &x509.Certificate{Extensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 14}, Value: []byte{4, 0}}, ext}}
			got, ok := FindExtension(cert)
			if !ok {
				t.Fatal("FindExtension found nothing")
			}
			if got.Type != tc.info.Type || got.Name != tc.info.Name || got.CredentialID != tc.info.CredentialID || len(got.KeyValuePairs) != len(tc.kv) {
				t.Fatalf("decoded %+v, want %+v %q", got, tc.info, tc.kv)
			}
			for i := range tc.kv {
				if got.KeyValuePairs[i] != tc.kv[i] {
					t.Fatalf("pair %d = %q, want %q", i, got.KeyValuePairs[i], tc.kv[i])
				}
			}
		})
	}
}

func TestExtensionDER(t *testing.T) {
	t.Parallel()
	// SEQUENCE { INTEGER 1, OCTET STRING "admin", OCTET STRING "k" }, no
	// key-value pairs (wire-spec §5.1).
	ext, err := NewExtension(Info{Name: "admin", Type: TypeJWK, CredentialID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := hex.DecodeString("300d020101040561646d696e04016b")
	if !bytes.Equal(ext.Value, want) {
		t.Fatalf("DER = %x, want %x", ext.Value, want)
	}
	if ExtensionOID.String() != "1.3.6.1.4.1.37476.9000.64.1" {
		t.Fatalf("OID = %s", ExtensionOID)
	}
}

func TestFindExtensionInvalid(t *testing.T) {
	t.Parallel()
	good, err := NewExtension(Info{Name: "a", Type: TypeJWK})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		exts []pkix.Extension
	}{
		{"none", nil},
		{"other oid", []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: good.Value}}},
		{"garbage", []pkix.Extension{{Id: ExtensionOID, Value: []byte{1, 2, 3}}}},
		{"trailing bytes", []pkix.Extension{{Id: ExtensionOID, Value: append(append([]byte{}, good.Value...), 0)}}},
		{"empty", []pkix.Extension{{Id: ExtensionOID}}},
	}
	for _, tc := range tests {
		if e, ok := FindExtension(&x509.Certificate{Extensions: tc.exts}); ok {
			t.Fatalf("%s: FindExtension = %+v", tc.name, e)
		}
	}
}

func TestParseType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Type
		ok   bool
	}{
		{"JWK", TypeJWK, true}, {"jwk", TypeJWK, true}, {"K8SSA", TypeK8sSA, true}, {"k8ssa", TypeK8sSA, true},
		{"SSHPOP", TypeSSHPOP, true}, {"Nebula", TypeNebula, true}, {"", 0, false}, {"JWKS", 0, false},
	}
	for _, tc := range tests {
		got, ok := ParseType(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Fatalf("ParseType(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if TypeJWK.String() != "JWK" || Type(99).String() != "Unknown" || TypeK8sSA.String() != "K8sSA" {
		t.Fatal("Type.String")
	}
	if int(TypeJWK) != 1 || int(TypeX5C) != 7 || int(TypeNebula) != 11 {
		t.Fatal("type numbers differ from step's extension numbering")
	}
}

package provisioner

import (
	"bytes"
	"encoding/asn1"
	"math"
	"strings"
	"testing"
)

// TestNewExtensionMatchesMarshal checks the direct encoding against
// encoding/asn1 across the length and integer boundaries of DER.
func TestNewExtensionMatchesMarshal(t *testing.T) {
	types := []Type{0, 1, TypeJWK, 127, 128, 255, 256, 32767, 32768, 65535, 1 << 24, math.MaxInt32, math.MaxInt64}
	sizes := []int{0, 1, 127, 128, 255, 256, 65535, 65536, 70000}
	for _, typ := range types {
		for _, n := range sizes {
			info := Info{Type: typ, Name: strings.Repeat("n", n), CredentialID: strings.Repeat("k", (n*7)%300)}
			got, err := NewExtension(info)
			if err != nil {
				t.Fatal(err)
			}
			want, err := asn1.Marshal(extensionASN1{Type: int(info.Type), Name: []byte(info.Name), CredentialID: []byte(info.CredentialID)})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Value, want) || !got.Id.Equal(ExtensionOID) || got.Critical {
				t.Fatalf("type %d, name %d bytes: got %x, want %x", typ, n, got.Value, want)
			}
		}
	}
	// A negative type, and key-value pairs (encoded by encoding/asn1).
	for _, c := range []struct {
		info Info
		kv   []string
	}{{Info{Type: -1, Name: "a"}, nil}, {Info{Type: TypeJWK, Name: "a"}, []string{"k", "v"}}} {
		got, err := NewExtension(c.info, c.kv...)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := asn1.Marshal(extensionASN1{Type: int(c.info.Type), Name: []byte(c.info.Name), KeyValuePairs: c.kv})
		if !bytes.Equal(got.Value, want) {
			t.Fatalf("%+v %v: got %x, want %x", c.info, c.kv, got.Value, want)
		}
	}
}

func BenchmarkNewExtension(b *testing.B) {
	info := Info{Type: TypeJWK, Name: "admin", CredentialID: "fZUCJ5LxW-CaTqc9XUSyN9Ca6hU7I3ZpvPBGtWnIwsA"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewExtension(info); err != nil {
			b.Fatal(err)
		}
	}
}

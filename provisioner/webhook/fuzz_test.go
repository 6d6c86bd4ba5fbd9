package webhook

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecodeResponse feeds arbitrary webhook answers to the decoder: it
// never panics, and what it accepts is one JSON object whose allow and
// data survive a round trip.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		`{"allow":true,"data":{"role":"eng"}}`, `{"allow":false}`, `{}`, `{"data":[1,2,{"a":null}]}`,
		`{"allow":"yes"}`, `[]`, `{"allow":true} {}`, ` {"allow":true}` + "\n", `{"allow":true,"x":1e400}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rb, err := readResponse(bytes.NewReader(b))
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		out, err := json.Marshal(rb)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := decodeResponse(out)
		if err != nil || again.Allow != rb.Allow {
			t.Fatalf("round trip of %q: %v", b, err)
		}
	})
}

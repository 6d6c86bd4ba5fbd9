package config

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Parse. It must never panic, and whatever
// parses successfully must survive Marshal → Parse → Marshal unchanged.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"ca_init.json", "ca_init_ssh.json", "rich.json", "broken.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"root":[]}`, `{"root":[1]}`, `{"authority":{"type":"stepcas"},"root":[]}`,
		`{"address":":1","root":"r","crt":"c","key":"k","templates":{"data":{"a":null,"b":[1.5e300]}}}`,
		`{"address":":1","root":"r","crt":"c","key":"k","authority":{"provisioners":[{"type":"K8sSA","name":"\u2028"}]}}`,
		`{"tls":{"minVersion":1e400}}`, `{"authority":{"backdate":"9999999999h"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.json")
		if err != nil {
			_ = err.Error()
			return
		}
		_, _ = c.ResolveTLS()
		b1, err := Marshal(c, true)
		if err != nil {
			t.Fatalf("Marshal of a valid config: %v", err)
		}
		c2, err := Parse(b1, "fuzz-rewritten.json")
		if err != nil {
			t.Fatalf("re-Parse of what we wrote: %v\n%s", err, b1)
		}
		b2, err := Marshal(c2, true)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("Marshal not stable:\n%s\n---\n%s", b1, b2)
		}
	})
}

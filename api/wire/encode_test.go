package wire

import (
	"bytes"
	"encoding/json"
	"testing"
)

func checkSame(t *testing.T, r *SignResponse) {
	t.Helper()
	want, err := json.Marshal(r)
	if err != nil {
		t.Skip("not encodable by json.Marshal")
	}
	var tls []byte
	if len(r.TLSOptions) > 0 {
		if tls, err = EncodeRaw(r.TLSOptions); err != nil {
			t.Fatalf("EncodeRaw: %v", err)
		}
	}
	if got := r.AppendJSON(nil, tls); !bytes.Equal(got, want) {
		t.Fatalf("AppendJSON:\n%s\njson.Marshal:\n%s", got, want)
	}
}

func TestSignResponseAppendJSON(t *testing.T) {
	t.Parallel()
	pem := "-----BEGIN CERTIFICATE-----\nMIIB+zCCAaGgAwIBAgIQ/x==\n-----END CERTIFICATE-----\n"
	ca := "ca \"quoted\" \\ <b>&amp;</b>\t\r\x01\x7f é \u2028\u2029 \xff\xfe end"
	for _, r := range []*SignResponse{
		{},
		{Certificate: pem, CA: &pem, CertChain: []string{pem, pem}},
		{Certificate: ca, CA: &ca, CertChain: []string{}},
		{Certificate: pem, CertChain: []string{ca}, TLSOptions: json.RawMessage(` { "cipherSuites" : ["A<B", "C"], "minVersion": 1.2 } `)},
	} {
		checkSame(t, r)
	}
}

func FuzzSignResponseAppendJSON(f *testing.F) {
	f.Add("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "x", `{"a":1}`)
	f.Add("\u2028<&>\x00\xff", "\"\\", ``)
	f.Fuzz(func(t *testing.T, crt, ca, tls string) {
		r := &SignResponse{Certificate: crt, CA: &ca, CertChain: []string{crt, ca}}
		if tls != "" && json.Valid([]byte(tls)) {
			r.TLSOptions = json.RawMessage(tls)
		}
		checkSame(t, r)
	})
}

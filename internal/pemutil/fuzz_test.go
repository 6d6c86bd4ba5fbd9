package pemutil

import (
	"os"
	"path/filepath"
	"testing"
)

func addFixtures(f *testing.F, names ...string) {
	f.Helper()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParsePrivateKey(f *testing.F) {
	for _, n := range []string{
		"ec_p256_sec1.pem", "ec_p256_with_params.pem", "rsa_pkcs1.pem", "ed25519_pkcs8.pem",
		"ec_p256_legacy_aes256.pem", "ec_p256_legacy_des.pem", "rsa_legacy_des3.pem",
		"ec_p256_pkcs8_aes128_sha1.pem", "ed25519_pkcs8_aes256_sha256.pem", "ssh_ed25519", "ssh_ecdsa_enc",
	} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte(testPassword))
		f.Add(b, []byte(nil))
	}
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END EC PRIVATE KEY-----\n"), []byte("x"))
	f.Fuzz(func(t *testing.T, data, password []byte) {
		// Lower work limits keep each input fast; the parsing code is the same.
		k, err := parsePrivateKey(data, password, workLimits{pbkdf2Iterations: 50000, bcryptRounds: 8})
		if err == nil && k == nil {
			t.Fatalf("nil key without error")
		}
		_ = IsEncrypted(data)
	})
}

func FuzzParseCertificates(f *testing.F) {
	addFixtures(f, "cert_ec256.pem", "cert_rsa.pem", "pub_ec256.pem")
	f.Add([]byte{0x30, 0x82, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertificates(data)
		if err == nil && len(certs) == 0 {
			t.Fatalf("no certificates without error")
		}
		_, _ = ParsePublicKey(data)
	})
}

func FuzzParseCSR(f *testing.F) {
	addFixtures(f, "csr_ec256.pem", "cert_ec256.pem")
	f.Add([]byte("-----BEGIN NEW CERTIFICATE REQUEST-----\nMAA=\n-----END NEW CERTIFICATE REQUEST-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		csr, err := ParseCSR(data)
		if err == nil && csr == nil {
			t.Fatalf("nil CSR without error")
		}
	})
}

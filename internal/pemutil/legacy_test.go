package pemutil

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"regexp"
	"testing"
)

// Expected values come from `openssl enc -<cipher> -md md5 -S <salt> -pass pass:<pw> -P`,
// which prints EVP_BytesToKey(MD5, 1 iteration) output split as key || iv.
func TestEVPBytesToKeyKnownAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		password, salt, keyIV string
	}{
		{"mayfly-test", "0102030405060708", "C130DE5D233AE5B14CE94135360CE3253A05E0CAFE39FF1FB4664B7159FD6BB4" + "5DD9B5AE5339DF4132178C2C2BDD5665"},
		{"password", "A1B2C3D4E5F60718", "9FE63318B03BE866BBFB41E2A332E773B24A110C59C78624" + "DFAFD5DED59FD0E5"},
	}
	for _, tt := range tests {
		salt, _ := hex.DecodeString(tt.salt)
		want, _ := hex.DecodeString(tt.keyIV)
		got := evpBytesToKey([]byte(tt.password), salt, len(want))
		if !bytes.Equal(got, want) {
			t.Fatalf("evpBytesToKey(%q, %s) = %X, want %X", tt.password, tt.salt, got, want)
		}
		// Shorter outputs are prefixes (AES-128 uses the first 16 bytes).
		if short := evpBytesToKey([]byte(tt.password), salt, 16); !bytes.Equal(short, want[:16]) {
			t.Fatalf("evpBytesToKey 16 bytes = %X, want %X", short, want[:16])
		}
	}
}

func TestPadUnpad(t *testing.T) {
	t.Parallel()
	for n := 0; n <= 33; n++ {
		data := bytes.Repeat([]byte{0xAB}, n)
		p := pad(data, 16)
		if len(p)%16 != 0 || len(p) <= n {
			t.Fatalf("pad(%d bytes) gave %d bytes", n, len(p))
		}
		got, err := unpad(p, 16)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("unpad(pad(%d bytes)) = %x, %v", n, got, err)
		}
	}
	bad := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not block multiple", make([]byte, 15)},
		{"zero pad byte", make([]byte, 16)},
		{"pad longer than block", append(make([]byte, 15), 17)},
		{"inconsistent pad", append(bytes.Repeat([]byte{3}, 14), 2, 3)},
	}
	for _, tt := range bad {
		if _, err := unpad(tt.data, 16); err == nil {
			t.Fatalf("unpad(%s) succeeded, want error", tt.name)
		}
	}
}

func TestLegacyEncryptFormat(t *testing.T) {
	t.Parallel()
	key := fixtureKey(t, "ec_p256_sec1.pem")
	b, err := MarshalPrivateKey(key, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	if b.Type != TypeECPrivateKey {
		t.Fatalf("type = %q, want %q", b.Type, TypeECPrivateKey)
	}
	if got := b.Headers["Proc-Type"]; got != "4,ENCRYPTED" {
		t.Fatalf("Proc-Type = %q", got)
	}
	dek := b.Headers["DEK-Info"]
	if len(dek) != len("AES-256-CBC,")+32 || dek[:12] != "AES-256-CBC," {
		t.Fatalf("DEK-Info = %q, want AES-256-CBC,<32 hex>", dek)
	}
	if !regexp.MustCompile(`^[0-9A-F]{32}$`).MatchString(dek[12:]) {
		t.Fatalf("DEK-Info IV %q is not 32 uppercase hex digits", dek[12:])
	}
	if len(b.Bytes)%16 != 0 {
		t.Fatalf("ciphertext length %d is not a multiple of 16", len(b.Bytes))
	}
	// The body decrypts to exactly the unencrypted SEC1 DER.
	got, err := decryptLegacy(b, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	want, err := x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("decrypted body differs from the SEC1 DER")
	}
	// Two encryptions use different random IVs.
	b2, err := MarshalPrivateKey(key, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	if b2.Headers["DEK-Info"] == dek {
		t.Fatalf("two encryptions used the same IV")
	}
}

func TestDecryptLegacyErrors(t *testing.T) {
	t.Parallel()
	base := []byte(readFixture(t, "ec_p256_legacy_aes256.pem"))
	tests := []struct {
		name    string
		headers map[string]string
		want    error
	}{
		{"missing DEK-Info", map[string]string{"Proc-Type": "4,ENCRYPTED"}, ErrMalformed},
		{"no IV", map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC"}, ErrMalformed},
		{"bad IV hex", map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,ZZ"}, ErrMalformed},
		{"short IV", map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,0102"}, ErrMalformed},
		{"unknown cipher", map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "CAMELLIA-256-CBC,00112233445566778899AABBCCDDEEFF"}, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := mustDecodePEM(t, base)
			b.Headers = tt.headers
			_, err := ParsePrivateKey(encodePEM(b), []byte(testPassword))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

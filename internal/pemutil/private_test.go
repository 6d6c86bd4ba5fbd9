package pemutil

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func TestMarshalParseRoundTrip(t *testing.T) {
	t.Parallel()
	type marshalFunc func(crypto.PrivateKey, []byte, int) (*pem.Block, error)
	flavours := []struct {
		name    string
		marshal marshalFunc
		// wantType maps key name → expected PEM type, for (unencrypted, encrypted).
		wantType func(key string, encrypted bool) string
	}{
		{"step", marshalPrivateKey, func(key string, enc bool) string {
			switch {
			case strings.HasPrefix(key, "EC"):
				return TypeECPrivateKey
			case strings.HasPrefix(key, "RSA"):
				return TypeRSAPrivateKey
			case enc:
				return TypeEncryptedPrivateKey
			default:
				return TypePrivateKey
			}
		}},
		{"pkcs8", marshalPKCS8PrivateKey, func(_ string, enc bool) string {
			if enc {
				return TypeEncryptedPrivateKey
			}
			return TypePrivateKey
		}},
	}
	for _, k := range testKeys(t) {
		for _, f := range flavours {
			for _, pw := range []string{"", testPassword} {
				name := k.name + "/" + f.name + "/plain"
				if pw != "" {
					name = k.name + "/" + f.name + "/encrypted"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					b, err := f.marshal(k.key, []byte(pw), fastIterations)
					if err != nil {
						t.Fatalf("marshal: %v", err)
					}
					if want := f.wantType(k.name, pw != ""); b.Type != want {
						t.Fatalf("PEM type = %q, want %q", b.Type, want)
					}
					data := pem.EncodeToMemory(b)
					if got := IsEncrypted(data); got != (pw != "") {
						t.Fatalf("IsEncrypted = %v, want %v", got, pw != "")
					}
					got, err := ParsePrivateKey(data, []byte(pw))
					if err != nil {
						t.Fatalf("parse: %v", err)
					}
					if !samePublic(got.Public(), k.key.Public()) {
						t.Fatalf("parsed key differs from the original")
					}
					if pw == "" {
						return
					}
					if _, err := ParsePrivateKey(data, []byte("not-"+pw)); !errors.Is(err, ErrBadPassword) {
						t.Fatalf("wrong password: err = %v, want ErrBadPassword", err)
					}
					for _, empty := range [][]byte{nil, {}} {
						if _, err := ParsePrivateKey(data, empty); !errors.Is(err, ErrPasswordRequired) {
							t.Fatalf("empty password: err = %v, want ErrPasswordRequired", err)
						}
					}
				})
			}
		}
	}
}

func TestParsedKeyTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		check   func(crypto.Signer) bool
	}{
		{"ec_p256_sec1.pem", func(s crypto.Signer) bool { _, ok := s.(*ecdsa.PrivateKey); return ok }},
		{"rsa_pkcs1.pem", func(s crypto.Signer) bool { _, ok := s.(*rsa.PrivateKey); return ok }},
		{"ed25519_pkcs8.pem", func(s crypto.Signer) bool { _, ok := s.(ed25519.PrivateKey); return ok }},
		{"ssh_ed25519", func(s crypto.Signer) bool { _, ok := s.(ed25519.PrivateKey); return ok }},
	}
	for _, tt := range tests {
		k := fixtureKey(t, tt.fixture)
		if !tt.check(k) {
			t.Fatalf("%s parsed as %T", tt.fixture, k)
		}
	}
}

// The fixtures were written by OpenSSL 3.0 and ssh-keygen (see testdata/README).
func TestParseFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture   string
		pub       string // PKIX public key fixture, or "" to compare with the .pub authorized_keys file
		encrypted bool
	}{
		{"ec_p256_sec1.pem", "pub_ec256.pem", false},
		{"ec_p256_with_params.pem", "pub_ec256_params.pem", false},
		{"rsa_pkcs1.pem", "pub_rsa.pem", false},
		{"ed25519_pkcs8.pem", "pub_ed.pem", false},
		{"ec_p256_legacy_aes256.pem", "pub_ec256.pem", true},
		{"ec_p384_legacy_aes128.pem", "pub_ec384.pem", true},
		{"ec_p521_legacy_aes192.pem", "pub_ec521.pem", true},
		{"ec_p256_legacy_des.pem", "pub_ec256.pem", true},
		{"rsa_legacy_des3.pem", "pub_rsa.pem", true},
		{"ed25519_pkcs8_aes256_sha256.pem", "pub_ed.pem", true},
		{"ec_p256_pkcs8_aes128_sha1.pem", "pub_ec256.pem", true},
		{"ec_p384_pkcs8_aes192_sha384.pem", "pub_ec384.pem", true},
		{"rsa_pkcs8_aes256_sha512.pem", "pub_rsa.pem", true},
		{"rsa_pkcs8_des3_sha256.pem", "pub_rsa.pem", true},
		{"ssh_ed25519", "", false},
		{"ssh_ecdsa_enc", "", true},
		{"ssh_rsa_enc", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			data := readFixture(t, tt.fixture)
			if got := IsEncrypted(data); got != tt.encrypted {
				t.Fatalf("IsEncrypted = %v, want %v", got, tt.encrypted)
			}
			var pw []byte
			if tt.encrypted {
				pw = []byte(testPassword)
			}
			k, err := ParsePrivateKey(data, pw)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			pubFile := tt.pub
			if pubFile == "" {
				pubFile = tt.fixture + ".pub"
			}
			pub, err := ParsePublicKey(readFixture(t, pubFile))
			if err != nil {
				t.Fatalf("parse %s: %v", pubFile, err)
			}
			if !samePublic(k.Public(), pub) {
				t.Fatalf("private key does not match %s", pubFile)
			}
			if !tt.encrypted {
				return
			}
			if _, err := ParsePrivateKey(data, nil); !errors.Is(err, ErrPasswordRequired) {
				t.Fatalf("nil password: err = %v, want ErrPasswordRequired", err)
			}
			if _, err := ParsePrivateKey(data, []byte("wrong password")); !errors.Is(err, ErrBadPassword) {
				t.Fatalf("wrong password: err = %v, want ErrBadPassword", err)
			}
		})
	}
}

// MarshalPrivateKey must write exactly what step writes for Ed25519: PBES2,
// PBKDF2-HMAC-SHA256 with 600000 iterations and a 16-byte salt, AES-256-CBC.
func TestMarshalEd25519EncryptedParameters(t *testing.T) {
	t.Parallel()
	key := fixtureKey(t, "ed25519_pkcs8.pem")
	b, err := MarshalPrivateKey(key, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	if b.Type != TypeEncryptedPrivateKey || len(b.Headers) != 0 {
		t.Fatalf("block = %q %v, want ENCRYPTED PRIVATE KEY without headers", b.Type, b.Headers)
	}
	var info encryptedPrivateKeyInfo
	if _, err := asn1.Unmarshal(b.Bytes, &info); err != nil {
		t.Fatal(err)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &params); err != nil {
		t.Fatal(err)
	}
	var kdf struct {
		Salt           []byte
		IterationCount int
		PRF            pkix.AlgorithmIdentifier
	}
	if rest, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil || len(rest) != 0 {
		t.Fatalf("PBKDF2 params: %v (rest %d)", err, len(rest))
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.EncryptionScheme.Parameters.FullBytes, &iv); err != nil {
		t.Fatal(err)
	}
	switch {
	case !info.Algo.Algorithm.Equal(oidPBES2):
		t.Fatalf("algorithm %v, want PBES2", info.Algo.Algorithm)
	case !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2):
		t.Fatalf("KDF %v, want PBKDF2", params.KeyDerivationFunc.Algorithm)
	case kdf.IterationCount != 600000:
		t.Fatalf("iterations %d, want 600000", kdf.IterationCount)
	case len(kdf.Salt) != 16:
		t.Fatalf("salt %d bytes, want 16", len(kdf.Salt))
	case !kdf.PRF.Algorithm.Equal(oidHMACWithSHA256) || !bytes.Equal(kdf.PRF.Parameters.FullBytes, []byte{5, 0}):
		t.Fatalf("PRF %v %x, want hmacWithSHA256 with NULL", kdf.PRF.Algorithm, kdf.PRF.Parameters.FullBytes)
	case !params.EncryptionScheme.Algorithm.Equal(oidAES256CBC):
		t.Fatalf("cipher %v, want aes256-CBC", params.EncryptionScheme.Algorithm)
	case len(iv) != 16:
		t.Fatalf("IV %d bytes, want 16", len(iv))
	}
	got, err := ParsePrivateKey(pem.EncodeToMemory(b), []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	if !samePublic(got.Public(), key.Public()) {
		t.Fatalf("round trip changed the key")
	}
}

func TestParsePrivateKeyMalformed(t *testing.T) {
	t.Parallel()
	valid := readFixture(t, "ec_p256_sec1.pem")
	garbageDER := pem.EncodeToMemory(&pem.Block{Type: TypeECPrivateKey, Bytes: []byte("not DER at all")})
	encGarbage := pem.EncodeToMemory(&pem.Block{Type: TypeEncryptedPrivateKey, Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x00}})
	onlyCert := readFixture(t, "cert_ec256.pem")
	ecdhKey := pem.EncodeToMemory(&pem.Block{Type: TypePrivateKey, Bytes: mustX25519PKCS8(t)})
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"text", []byte("hello world"), ErrMalformed},
		{"truncated PEM", valid[:len(valid)/2], ErrMalformed},
		{"missing END line", bytes.Replace(valid, []byte("-----END"), []byte("-----XXX"), 1), ErrMalformed},
		{"bad base64", bytes.Replace(valid, []byte("M"), []byte("*"), 3), ErrMalformed},
		{"garbage DER", garbageDER, ErrMalformed},
		{"garbage encrypted DER", encGarbage, ErrMalformed},
		{"certificate only", onlyCert, ErrMalformed},
		{"X25519 key", ecdhKey, ErrUnsupported},
		{"garbage OpenSSH", pem.EncodeToMemory(&pem.Block{Type: TypeOpenSSHPrivateKey, Bytes: []byte("openssh-key-v1\x00junk")}), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := ParsePrivateKey(tt.data, []byte(testPassword))
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParsePrivateKey = %T, %v; want %v", k, err, tt.want)
			}
			if IsEncrypted(tt.data) && tt.name != "garbage encrypted DER" {
				t.Fatalf("IsEncrypted = true for %s", tt.name)
			}
		})
	}
}

func TestParsePrivateKeyDER(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"ec_p256_sec1.pem", "rsa_pkcs1.pem", "ed25519_pkcs8.pem"} {
		b := mustDecodePEM(t, readFixture(t, f))
		k, err := ParsePrivateKey(b.Bytes, nil)
		if err != nil {
			t.Fatalf("%s as DER: %v", f, err)
		}
		if !samePublic(k.Public(), fixtureKey(t, f).Public()) {
			t.Fatalf("%s as DER: wrong key", f)
		}
	}
}

func TestParsePrivateKeySkipsLeadingBlocks(t *testing.T) {
	t.Parallel()
	key := readFixture(t, "rsa_pkcs1.pem")
	data := append(readFixture(t, "cert_rsa.pem"), key...)
	data = append([]byte("some leading text\n"), data...)
	k, err := ParsePrivateKey(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !samePublic(k.Public(), fixtureKey(t, "rsa_pkcs1.pem").Public()) {
		t.Fatalf("wrong key")
	}
}

func TestMarshalUnsupported(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  crypto.PrivateKey
	}{
		{"nil", nil},
		{"string", "key"},
		{"nil ecdsa", (*ecdsa.PrivateKey)(nil)},
		{"short ed25519", ed25519.PrivateKey{1, 2, 3}},
	}
	for _, tt := range tests {
		if _, err := MarshalPrivateKey(tt.key, nil); err == nil {
			t.Fatalf("MarshalPrivateKey(%s) succeeded", tt.name)
		}
		if _, err := MarshalPKCS8PrivateKey(tt.key, nil); err == nil {
			t.Fatalf("MarshalPKCS8PrivateKey(%s) succeeded", tt.name)
		}
	}
	// A pointer to an Ed25519 key is accepted.
	ed := fixtureKey(t, "ed25519_pkcs8.pem").(ed25519.PrivateKey)
	b, err := MarshalPrivateKey(&ed, nil)
	if err != nil || b.Type != TypePrivateKey {
		t.Fatalf("MarshalPrivateKey(*ed25519.PrivateKey) = %v, %v", b, err)
	}
}

// buildPBES2 encodes an EncryptedPrivateKeyInfo with arbitrary parameters.
func buildPBES2(t *testing.T, algo, kdfOID, prf, cipherOID asn1.ObjectIdentifier, iterations int, ivLen int, data []byte) []byte {
	t.Helper()
	kdf, err := asn1.Marshal(pbkdf2ParamsOut{Salt: make([]byte, 16), IterationCount: iterations, PRF: pkix.AlgorithmIdentifier{Algorithm: prf, Parameters: asn1.NullRawValue}})
	if err != nil {
		t.Fatal(err)
	}
	iv, err := asn1.Marshal(make([]byte, ivLen))
	if err != nil {
		t.Fatal(err)
	}
	params, err := asn1.Marshal(pbes2Params{
		KeyDerivationFunc: pkix.AlgorithmIdentifier{Algorithm: kdfOID, Parameters: asn1.RawValue{FullBytes: kdf}},
		EncryptionScheme:  pkix.AlgorithmIdentifier{Algorithm: cipherOID, Parameters: asn1.RawValue{FullBytes: iv}},
	})
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(encryptedPrivateKeyInfo{Algo: pkix.AlgorithmIdentifier{Algorithm: algo, Parameters: asn1.RawValue{FullBytes: params}}, EncryptedData: data})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestPKCS8DecryptParameters(t *testing.T) {
	t.Parallel()
	pbes1MD5DES := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 3}
	scrypt := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}
	hmacMD5 := asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}
	rc2 := asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 2}
	data := make([]byte, 32)
	tests := []struct {
		name string
		der  []byte
		want error
	}{
		{"iterations above cap", buildPBES2(t, oidPBES2, oidPBKDF2, oidHMACWithSHA256, oidAES256CBC, 1<<30, 16, data), ErrMalformed},
		{"zero iterations", buildPBES2(t, oidPBES2, oidPBKDF2, oidHMACWithSHA256, oidAES256CBC, 0, 16, data), ErrMalformed},
		{"short IV", buildPBES2(t, oidPBES2, oidPBKDF2, oidHMACWithSHA256, oidAES256CBC, 1, 8, data), ErrMalformed},
		{"partial block", buildPBES2(t, oidPBES2, oidPBKDF2, oidHMACWithSHA256, oidAES256CBC, 1, 16, data[:20]), ErrMalformed},
		{"PBES1", buildPBES2(t, pbes1MD5DES, oidPBKDF2, oidHMACWithSHA256, oidAES256CBC, 1, 16, data), ErrUnsupported},
		{"scrypt KDF", buildPBES2(t, oidPBES2, scrypt, oidHMACWithSHA256, oidAES256CBC, 1, 16, data), ErrUnsupported},
		{"HMAC-MD5 PRF", buildPBES2(t, oidPBES2, oidPBKDF2, hmacMD5, oidAES256CBC, 1, 16, data), ErrUnsupported},
		{"RC2 cipher", buildPBES2(t, oidPBES2, oidPBKDF2, oidHMACWithSHA256, rc2, 1, 8, data), ErrUnsupported},
		{"wrong key", buildPBES2(t, oidPBES2, oidPBKDF2, oidHMACWithSHA256, oidAES256CBC, 1, 16, data), ErrBadPassword},
		{"trailing data", append(buildPBES2(t, oidPBES2, oidPBKDF2, oidHMACWithSHA256, oidAES256CBC, 1, 16, data), 0), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: TypeEncryptedPrivateKey, Bytes: tt.der}), []byte(testPassword))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOpenSSHRoundsCap(t *testing.T) {
	t.Parallel()
	b := mustDecodePEM(t, readFixture(t, "ssh_ecdsa_enc"))
	// Locate the rounds field: magic, "aes256-ctr", "bcrypt", kdfoptions{salt(16), rounds}.
	i := bytes.Index(b.Bytes, []byte("bcrypt"))
	if i < 0 {
		t.Fatal("fixture has no bcrypt KDF")
	}
	off := i + len("bcrypt") + 4 + 4 + 16 // kdfoptions length, salt length, salt
	if got := b.Bytes[off : off+4]; !bytes.Equal(got, []byte{0, 0, 0, 2}) {
		t.Fatalf("rounds field = %x, want 00000002 (fixture made with -a 2)", got)
	}
	b.Bytes = append([]byte{}, b.Bytes...)
	copy(b.Bytes[off:], []byte{0xff, 0xff, 0xff, 0xff})
	_, err := ParsePrivateKey(pem.EncodeToMemory(b), []byte(testPassword))
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "rounds") {
		t.Fatalf("err = %v, want ErrUnsupported about rounds", err)
	}
}

// A wrong password passes the padding check about once in 256 tries; the
// decrypted bytes then fail to parse, which must still be ErrBadPassword.
func TestDecryptedGarbageIsBadPassword(t *testing.T) {
	t.Parallel()
	c, _ := legacyCipherByName("AES-256-CBC")
	legacy, err := encryptLegacyWithIV(TypeECPrivateKey, []byte("not a DER key"), []byte(testPassword), c, make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	p8, err := encryptPKCS8([]byte("not a DER key"), []byte(testPassword), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []*pem.Block{legacy, {Type: TypeEncryptedPrivateKey, Bytes: p8}} {
		if _, err := ParsePrivateKey(pem.EncodeToMemory(b), []byte(testPassword)); !errors.Is(err, ErrBadPassword) {
			t.Fatalf("%s: err = %v, want ErrBadPassword", b.Type, err)
		}
	}
}

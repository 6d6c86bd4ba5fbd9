package pemutil

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"hash"
)

// This file implements PKCS#8 EncryptedPrivateKeyInfo with PBES2 (RFC 8018):
//
//	EncryptedPrivateKeyInfo ::= SEQUENCE {
//	  encryptionAlgorithm  AlgorithmIdentifier {{ id-PBES2 }},
//	  encryptedData        OCTET STRING }
//	PBES2-params ::= SEQUENCE {
//	  keyDerivationFunc AlgorithmIdentifier {{ id-PBKDF2 }},
//	  encryptionScheme  AlgorithmIdentifier {{ e.g. aes256-CBC, IV }} }
//	PBKDF2-params ::= SEQUENCE {
//	  salt OCTET STRING, iterationCount INTEGER, keyLength INTEGER OPTIONAL,
//	  prf AlgorithmIdentifier DEFAULT hmacWithSHA1 }

// DefaultPBKDF2Iterations is the PBKDF2 iteration count step (and this
// package) uses when encrypting PKCS#8 keys.
const DefaultPBKDF2Iterations = 600000

// maxPBKDF2Iterations bounds the work an attacker-supplied key file can make
// us do (about ten times step's default).
const maxPBKDF2Iterations = 10_000_000

var (
	oidPBES2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}

	oidHMACWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACWithSHA224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}

	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	oidDESCBC     = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 7}
)

type encryptedPrivateKeyInfo struct {
	Algo          pkix.AlgorithmIdentifier
	EncryptedData []byte
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

// pbkdf2Params is the decoding form; KeyLength and PRF are optional.
type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

// pbkdf2ParamsOut is the encoding form, as step and OpenSSL write it: no
// keyLength, prf with an explicit NULL parameter.
type pbkdf2ParamsOut struct {
	Salt           []byte
	IterationCount int
	PRF            pkix.AlgorithmIdentifier
}

type pbes2Cipher struct {
	oid       asn1.ObjectIdentifier
	name      string
	keySize   int
	blockSize int
	newBlock  func(key []byte) (cipher.Block, error)
}

var pbes2Ciphers = []pbes2Cipher{
	{oidAES128CBC, "AES-128-CBC", 16, aes.BlockSize, aes.NewCipher},
	{oidAES192CBC, "AES-192-CBC", 24, aes.BlockSize, aes.NewCipher},
	{oidAES256CBC, "AES-256-CBC", 32, aes.BlockSize, aes.NewCipher},
	{oidDESEDE3CBC, "DES-EDE3-CBC", 24, des.BlockSize, des.NewTripleDESCipher},
	{oidDESCBC, "DES-CBC", 8, des.BlockSize, des.NewCipher},
}

func prfHash(oid asn1.ObjectIdentifier) (func() hash.Hash, bool) {
	switch {
	case len(oid) == 0, oid.Equal(oidHMACWithSHA1):
		return sha1.New, true
	case oid.Equal(oidHMACWithSHA224):
		return sha256.New224, true
	case oid.Equal(oidHMACWithSHA256):
		return sha256.New, true
	case oid.Equal(oidHMACWithSHA384):
		return sha512.New384, true
	case oid.Equal(oidHMACWithSHA512):
		return sha512.New, true
	}
	return nil, false
}

// decryptPKCS8 decrypts an "ENCRYPTED PRIVATE KEY" DER body and returns the
// inner PKCS#8 PrivateKeyInfo DER. A padding failure is ErrBadPassword.
func decryptPKCS8(der, password []byte, maxIterations int) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: %w: %v", ErrMalformed, err)
	} else if len(rest) != 0 {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: %w: trailing data", ErrMalformed)
	}
	if !info.Algo.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: %w: encryption algorithm %s (only PBES2 is supported)", ErrUnsupported, info.Algo.Algorithm)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: %w: PBES2 parameters: %v", ErrMalformed, err)
	}
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: %w: key derivation %s (only PBKDF2 is supported)", ErrUnsupported, params.KeyDerivationFunc.Algorithm)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: %w: PBKDF2 parameters: %v", ErrMalformed, err)
	}
	h, ok := prfHash(kdf.PRF.Algorithm)
	if !ok {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: %w: PBKDF2 PRF %s", ErrUnsupported, kdf.PRF.Algorithm)
	}
	if kdf.IterationCount <= 0 || kdf.IterationCount > maxIterations {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: %w: PBKDF2 iteration count %d out of range 1..%d", ErrMalformed, kdf.IterationCount, maxIterations)
	}
	var c *pbes2Cipher
	for i := range pbes2Ciphers {
		if pbes2Ciphers[i].oid.Equal(params.EncryptionScheme.Algorithm) {
			c = &pbes2Ciphers[i]
		}
	}
	if c == nil {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: %w: cipher %s", ErrUnsupported, params.EncryptionScheme.Algorithm)
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != c.keySize {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: %w: PBKDF2 key length %d does not match %s", ErrMalformed, kdf.KeyLength, c.name)
	}
	var iv []byte
	if rest, err := asn1.Unmarshal(params.EncryptionScheme.Parameters.FullBytes, &iv); err != nil || len(rest) != 0 || len(iv) != c.blockSize {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: %w: %s IV must be an OCTET STRING of %d bytes", ErrMalformed, c.name, c.blockSize)
	}
	if len(info.EncryptedData) == 0 || len(info.EncryptedData)%c.blockSize != 0 {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: %w: encrypted data is not a multiple of the %s block size", ErrMalformed, c.name)
	}
	if len(password) == 0 {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: %w", ErrPasswordRequired)
	}
	key, err := pbkdf2.Key(h, string(password), kdf.Salt, kdf.IterationCount, c.keySize)
	if err != nil {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: derive key: %w", err)
	}
	block, err := c.newBlock(key)
	if err != nil {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: %s: %w", c.name, err)
	}
	out := make([]byte, len(info.EncryptedData))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, info.EncryptedData)
	out, err = unpad(out, c.blockSize)
	if err != nil {
		return nil, fmt.Errorf("ENCRYPTED PRIVATE KEY: %w", ErrBadPassword)
	}
	return out, nil
}

// encryptPKCS8 wraps PKCS#8 PrivateKeyInfo DER as step does: PBES2,
// PBKDF2-HMAC-SHA256 with the given iteration count and a 16-byte salt,
// AES-256-CBC. It returns the EncryptedPrivateKeyInfo DER.
func encryptPKCS8(der, password []byte, iterations int) ([]byte, error) {
	salt := make([]byte, 16)
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("encrypt PKCS#8 key: generate salt: %w", err)
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, fmt.Errorf("encrypt PKCS#8 key: generate IV: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, string(password), salt, iterations, 32)
	if err != nil {
		return nil, fmt.Errorf("encrypt PKCS#8 key: derive key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("encrypt PKCS#8 key: %w", err)
	}
	data := pad(der, aes.BlockSize)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(data, data)

	kdfParams, err := asn1.Marshal(pbkdf2ParamsOut{
		Salt:           salt,
		IterationCount: iterations,
		PRF: pkix.AlgorithmIdentifier{
			Algorithm:  oidHMACWithSHA256,
			Parameters: asn1.NullRawValue,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("encrypt PKCS#8 key: encode PBKDF2 parameters: %w", err)
	}
	ivDER, err := asn1.Marshal(iv)
	if err != nil {
		return nil, fmt.Errorf("encrypt PKCS#8 key: encode IV: %w", err)
	}
	schemeParams, err := asn1.Marshal(pbes2Params{
		KeyDerivationFunc: pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdfParams}},
		EncryptionScheme:  pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
	})
	if err != nil {
		return nil, fmt.Errorf("encrypt PKCS#8 key: encode PBES2 parameters: %w", err)
	}
	out, err := asn1.Marshal(encryptedPrivateKeyInfo{
		Algo:          pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: schemeParams}},
		EncryptedData: data,
	})
	if err != nil {
		return nil, fmt.Errorf("encrypt PKCS#8 key: encode: %w", err)
	}
	return out, nil
}

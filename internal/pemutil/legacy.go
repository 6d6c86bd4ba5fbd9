package pemutil

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"
)

// This file implements OpenSSL's "traditional" PEM encryption (RFC 1421 style
// headers, as written by `openssl ec -aes256` and by step for EC/RSA keys):
//
//	Proc-Type: 4,ENCRYPTED
//	DEK-Info: AES-256-CBC,<hex IV>
//
// The key is EVP_BytesToKey(MD5, password, salt=IV[:8], count=1) and the body
// is CBC with PKCS#7 padding.

const (
	headerProcType = "Proc-Type"
	headerDEKInfo  = "DEK-Info"
	procTypeEnc    = "4,ENCRYPTED"
)

// legacyCipher describes one DEK-Info cipher name.
type legacyCipher struct {
	name      string
	keySize   int
	blockSize int
	newBlock  func(key []byte) (cipher.Block, error)
}

var legacyCiphers = []legacyCipher{
	{"AES-128-CBC", 16, aes.BlockSize, aes.NewCipher},
	{"AES-192-CBC", 24, aes.BlockSize, aes.NewCipher},
	{"AES-256-CBC", 32, aes.BlockSize, aes.NewCipher},
	{"DES-EDE3-CBC", 24, des.BlockSize, des.NewTripleDESCipher},
	{"DES-CBC", 8, des.BlockSize, des.NewCipher},
}

func legacyCipherByName(name string) (legacyCipher, bool) {
	for _, c := range legacyCiphers {
		if strings.EqualFold(c.name, name) {
			return c, true
		}
	}
	return legacyCipher{}, false
}

// isLegacyEncrypted reports whether a block carries OpenSSL legacy encryption headers.
func isLegacyEncrypted(b *pem.Block) bool {
	return strings.Contains(b.Headers[headerProcType], "ENCRYPTED")
}

// evpBytesToKey is OpenSSL's EVP_BytesToKey with MD5 and one iteration, as
// used by legacy PEM encryption: D_i = MD5(D_{i-1} || password || salt),
// key = D_1 || D_2 || ... truncated to keyLen. salt must be 8 bytes (or empty).
func evpBytesToKey(password, salt []byte, keyLen int) []byte {
	var out, prev []byte
	for len(out) < keyLen {
		h := md5.New()
		h.Write(prev)
		h.Write(password)
		h.Write(salt)
		prev = h.Sum(nil)
		out = append(out, prev...)
	}
	return out[:keyLen]
}

// decryptLegacy decrypts the body of a legacy-encrypted block. Padding
// failures are reported as ErrBadPassword.
func decryptLegacy(b *pem.Block, password []byte) ([]byte, error) {
	dek, ok := b.Headers[headerDEKInfo]
	if !ok {
		return nil, fmt.Errorf("%s: %w: missing DEK-Info header", b.Type, ErrMalformed)
	}
	name, ivHex, ok := strings.Cut(dek, ",")
	if !ok {
		return nil, fmt.Errorf("%s: %w: DEK-Info %q has no IV", b.Type, ErrMalformed, dek)
	}
	c, ok := legacyCipherByName(strings.TrimSpace(name))
	if !ok {
		return nil, fmt.Errorf("%s: %w: DEK-Info cipher %q", b.Type, ErrUnsupported, name)
	}
	iv, err := hex.DecodeString(strings.TrimSpace(ivHex))
	if err != nil || len(iv) != c.blockSize {
		return nil, fmt.Errorf("%s: %w: DEK-Info IV must be %d hex bytes", b.Type, ErrMalformed, c.blockSize)
	}
	if len(b.Bytes) == 0 || len(b.Bytes)%c.blockSize != 0 {
		return nil, fmt.Errorf("%s: %w: encrypted data is not a multiple of the %s block size", b.Type, ErrMalformed, c.name)
	}
	if len(password) == 0 {
		return nil, fmt.Errorf("%s: %w", b.Type, ErrPasswordRequired)
	}
	key := evpBytesToKey(password, iv[:8], c.keySize)
	block, err := c.newBlock(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", b.Type, c.name, err)
	}
	out := make([]byte, len(b.Bytes))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, b.Bytes)
	out, err = unpad(out, c.blockSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Type, ErrBadPassword)
	}
	return out, nil
}

// encryptLegacy returns a block of type typ whose DER body is encrypted with
// AES-256-CBC the way `openssl ec -aes256` and step do.
func encryptLegacy(typ string, der, password []byte) (*pem.Block, error) {
	c, _ := legacyCipherByName("AES-256-CBC")
	iv := make([]byte, c.blockSize)
	if _, err := rand.Read(iv); err != nil {
		return nil, fmt.Errorf("encrypt %s: generate IV: %w", typ, err)
	}
	return encryptLegacyWithIV(typ, der, password, c, iv)
}

func encryptLegacyWithIV(typ string, der, password []byte, c legacyCipher, iv []byte) (*pem.Block, error) {
	key := evpBytesToKey(password, iv[:8], c.keySize)
	block, err := c.newBlock(key)
	if err != nil {
		return nil, fmt.Errorf("encrypt %s: %w", typ, err)
	}
	data := pad(der, c.blockSize)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(data, data)
	return &pem.Block{
		Type: typ,
		Headers: map[string]string{
			headerProcType: procTypeEnc,
			headerDEKInfo:  c.name + "," + strings.ToUpper(hex.EncodeToString(iv)),
		},
		Bytes: data,
	}, nil
}

// pad applies PKCS#7 padding into a fresh slice.
func pad(data []byte, blockSize int) []byte {
	n := blockSize - len(data)%blockSize
	out := make([]byte, len(data), len(data)+n)
	copy(out, data)
	return append(out, bytes.Repeat([]byte{byte(n)}, n)...)
}

// unpad removes and checks PKCS#7 padding.
func unpad(data []byte, blockSize int) ([]byte, error) {
	if len(data) == 0 || len(data)%blockSize != 0 {
		return nil, fmt.Errorf("bad padding")
	}
	n := int(data[len(data)-1])
	if n == 0 || n > blockSize || n > len(data) {
		return nil, fmt.Errorf("bad padding")
	}
	for _, p := range data[len(data)-n:] {
		if int(p) != n {
			return nil, fmt.Errorf("bad padding")
		}
	}
	return data[:len(data)-n], nil
}

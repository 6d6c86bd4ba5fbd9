package scep

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/mayfly-pki/mayfly/provisioner/scep"
)

// PKCS#7 enveloped data (RFC 2315 §10), encoded here rather than with
// go.mozilla.org/pkcs7's Encrypt, whose content algorithm is a package
// variable: each provisioner chooses its own (encryptionAlgorithmIdentifier).

var (
	oidData            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEnvelopedData   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidRSAEncryption   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidDESCBC          = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 7}
	oidAES128CBC       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES256CBC       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidAES128GCM       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 6}
	oidAES256GCM       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 46}
	errNotRSARecipient = errors.New("scep: a CertRep can only be encrypted to RSA keys")
)

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type envelopedData struct {
	Version              int
	RecipientInfos       []recipientInfo `asn1:"set"`
	EncryptedContentInfo encryptedContentInfo
}

type recipientInfo struct {
	Version                int
	IssuerAndSerialNumber  issuerAndSerial
	KeyEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedKey           []byte
}

type issuerAndSerial struct {
	IssuerName   asn1.RawValue
	SerialNumber *big.Int
}

type encryptedContentInfo struct {
	ContentType                asn1.ObjectIdentifier
	ContentEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedContent           asn1.RawValue `asn1:"tag:0,optional"`
}

// gcmParameters are RFC 5084's GCMParameters (the ICV length is Go's 16,
// written since it is not the default 12).
type gcmParameters struct {
	Nonce  []byte
	ICVLen int
}

// encrypt returns content as PKCS#7 enveloped data for recipients (RSA
// keys, PKCS #1 v1.5 key transport) with the content algorithm alg
// (scep.EncryptionDESCBC ... scep.EncryptionAES256GCM).
func encrypt(content []byte, recipients []*x509.Certificate, alg int) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, errors.New("scep: no recipient to encrypt the CertRep to")
	}
	var keyLen int
	var oid asn1.ObjectIdentifier
	switch alg {
	case scep.EncryptionDESCBC:
		keyLen, oid = 8, oidDESCBC
	case scep.EncryptionAES128CBC:
		keyLen, oid = 16, oidAES128CBC
	case scep.EncryptionAES256CBC:
		keyLen, oid = 32, oidAES256CBC
	case scep.EncryptionAES128GCM:
		keyLen, oid = 16, oidAES128GCM
	case scep.EncryptionAES256GCM:
		keyLen, oid = 32, oidAES256GCM
	default:
		return nil, fmt.Errorf("scep: unknown content encryption algorithm %d", alg)
	}
	key := make([]byte, keyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	var block cipher.Block
	var err error
	if alg == scep.EncryptionDESCBC {
		block, err = des.NewCipher(key)
	} else {
		block, err = aes.NewCipher(key)
	}
	if err != nil {
		return nil, err
	}
	var ciphertext, params []byte
	switch alg {
	case scep.EncryptionAES128GCM, scep.EncryptionAES256GCM:
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		nonce := make([]byte, gcm.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		ciphertext = gcm.Seal(nil, nonce, content, nil)
		if params, err = asn1.Marshal(gcmParameters{Nonce: nonce, ICVLen: gcm.Overhead()}); err != nil {
			return nil, err
		}
	default:
		iv := make([]byte, block.BlockSize())
		if _, err := rand.Read(iv); err != nil {
			return nil, err
		}
		padded := pad(content, block.BlockSize())
		ciphertext = make([]byte, len(padded))
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ciphertext, padded)
		if params, err = asn1.Marshal(iv); err != nil {
			return nil, err
		}
	}
	infos := make([]recipientInfo, 0, len(recipients))
	for _, r := range recipients {
		pub, ok := r.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, errNotRSARecipient
		}
		ek, err := rsa.EncryptPKCS1v15(rand.Reader, pub, key)
		if err != nil {
			return nil, err
		}
		infos = append(infos, recipientInfo{
			IssuerAndSerialNumber:  issuerAndSerial{IssuerName: asn1.RawValue{FullBytes: r.RawIssuer}, SerialNumber: r.SerialNumber},
			KeyEncryptionAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue},
			EncryptedKey:           ek,
		})
	}
	env := envelopedData{
		RecipientInfos: infos,
		EncryptedContentInfo: encryptedContentInfo{
			ContentType:                oidData,
			ContentEncryptionAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oid, Parameters: asn1.RawValue{FullBytes: params}},
			// [0] IMPLICIT OCTET STRING, primitive (DER).
			EncryptedContent: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: ciphertext},
		},
	}
	inner, err := asn1.Marshal(env)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(contentInfo{ContentType: oidEnvelopedData, Content: asn1.RawValue{FullBytes: mustExplicit(inner)}})
}

// mustExplicit wraps der in a [0] EXPLICIT tag.
func mustExplicit(der []byte) []byte {
	b, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der})
	return b
}

// pad is PKCS #7 padding to blockLen.
func pad(data []byte, blockLen int) []byte {
	n := blockLen - len(data)%blockLen
	out := make([]byte, len(data), len(data)+n)
	copy(out, data)
	for range n {
		out = append(out, byte(n))
	}
	return out
}

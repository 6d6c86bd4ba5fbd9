// Package cloudkms is the key manager for Google Cloud KMS, through
// cloud.google.com/go/kms (gRPC).
//
// The kms URI (or ca.json's kms block) sets the client:
//
//	cloudkms:credentials-file=/etc/step-ca/gcloud-kms.json
//
// ("cloudkms:" alone uses the application default credentials), plus
// endpoint=<host:port> to reach another server and insecure=true for a
// plaintext, unauthenticated emulator (tests only). Key names are resource
// names, bare as step writes them or prefixed with "cloudkms:":
// projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N.
// CreateKey takes a crypto key name (.../cryptoKeys/K), creates the key
// ring when missing, creates the key (or, as step's kms plugin, a new
// version when the key exists) and answers the version's name.
package cloudkms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"time"

	kmsapi "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/kms"
)

// Type is the registry name.
const Type = "cloudkms"

// callTimeout bounds each call a signer makes (crypto.Signer has no context).
const callTimeout = 15 * time.Second

// KMS is one Cloud KMS client. Safe for concurrent use.
type KMS struct {
	client *kmsapi.KeyManagementClient
}

var _ kms.KeyManager = (*KMS)(nil)

// New is the kms.Opener for "cloudkms". It dials lazily: nothing is sent
// until the first call.
func New(ctx context.Context, o kms.Options) (kms.KeyManager, error) {
	credFile, endpoint, plaintext := o.CredentialsFile, "", false
	if o.URI != "" {
		u, err := kms.ParseURI(o.URI)
		if err != nil {
			return nil, errs.E(errs.BadRequest, "cloudkms: "+err.Error(), nil)
		}
		if u.Scheme != Type {
			return nil, errs.E(errs.BadRequest, fmt.Sprintf("cloudkms: the kms uri has scheme %q, want cloudkms", u.Scheme), nil)
		}
		if v := u.Get("credentials-file"); v != "" {
			credFile = v
		}
		endpoint = u.Get("endpoint")
		plaintext = u.Get("insecure") == "true"
	}
	var opts []option.ClientOption
	if endpoint != "" {
		opts = append(opts, option.WithEndpoint(endpoint))
	}
	switch {
	case plaintext:
		if endpoint == "" {
			return nil, errs.E(errs.BadRequest, "cloudkms: insecure=true needs an endpoint (an emulator)", nil)
		}
		opts = append(opts, option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	case credFile != "":
		opts = append(opts, option.WithCredentialsFile(credFile))
	}
	c, err := kmsapi.NewKeyManagementClient(ctx, opts...)
	if err != nil {
		return nil, errs.E(errs.Unavailable, "cloudkms: creating the client failed", err)
	}
	return &KMS{client: c}, nil
}

// resource returns the resource name of a key reference.
func resource(name string) (string, error) {
	n := name
	if kms.Scheme(n) == Type {
		u, err := kms.ParseURI(n)
		if err != nil {
			return "", errs.E(errs.BadRequest, "cloudkms: "+err.Error(), nil)
		}
		if r := u.Get("resource"); r != "" {
			n = r
		} else {
			n = strings.TrimPrefix(n, Type+":")
		}
	}
	if !strings.HasPrefix(n, "projects/") || strings.ContainsAny(n, " ?;") {
		return "", errs.E(errs.BadRequest, fmt.Sprintf("cloudkms: %q is not a resource name (projects/.../cryptoKeys/...)", kms.Redact(name)), nil)
	}
	return n, nil
}

func classify(what string, err error) error {
	switch status.Code(err) {
	case codes.NotFound:
		return errs.E(errs.NotFound, "cloudkms: "+what+": not found", err)
	case codes.AlreadyExists:
		return errs.E(errs.Conflict, "cloudkms: "+what+": already exists", err)
	case codes.InvalidArgument, codes.FailedPrecondition:
		return errs.E(errs.BadRequest, "cloudkms: "+what+" refused", err)
	case codes.PermissionDenied, codes.Unauthenticated:
		return errs.E(errs.Forbidden, "cloudkms: "+what+": permission denied", err)
	}
	return errs.E(errs.Unavailable, "cloudkms: "+what+" failed", err)
}

// GetPublicKey returns the public key of a crypto key version.
func (k *KMS) GetPublicKey(ctx context.Context, name string) (crypto.PublicKey, error) {
	r, err := resource(name)
	if err != nil {
		return nil, err
	}
	resp, err := k.client.GetPublicKey(ctx, &kmspb.GetPublicKeyRequest{Name: r})
	if err != nil {
		return nil, classify("GetPublicKey", err)
	}
	if resp.PemCrc32C != nil && int64(crc32c([]byte(resp.Pem))) != resp.PemCrc32C.Value {
		return nil, errs.E(errs.Unavailable, "cloudkms: GetPublicKey: the response was corrupted in transit (CRC32C)", nil)
	}
	block, _ := pem.Decode([]byte(resp.Pem))
	if block == nil {
		return nil, fmt.Errorf("cloudkms: %s: the public key is not PEM", r)
	}
	return x509.ParsePKIXPublicKey(block.Bytes)
}

// CreateSigner returns a signer calling AsymmetricSign for each signature.
func (k *KMS) CreateSigner(ctx context.Context, name string) (crypto.Signer, error) {
	r, err := resource(name)
	if err != nil {
		return nil, err
	}
	pub, err := k.GetPublicKey(ctx, r)
	if err != nil {
		return nil, err
	}
	return &signer{client: k.client, name: r, pub: pub}, nil
}

// CreateKey creates the key (and its key ring when missing).
func (k *KMS) CreateKey(ctx context.Context, req kms.CreateKeyRequest) (*kms.CreateKeyResponse, error) {
	r, err := resource(req.Name)
	if err != nil {
		return nil, err
	}
	ring, keyID, ok := strings.Cut(r, "/cryptoKeys/")
	if !ok || keyID == "" || strings.Contains(keyID, "/") || !strings.Contains(ring, "/keyRings/") {
		return nil, errs.E(errs.BadRequest, "cloudkms: a new key is named projects/P/locations/L/keyRings/R/cryptoKeys/K", nil)
	}
	alg, err := algorithm(req)
	if err != nil {
		return nil, err
	}
	if _, err := k.client.GetKeyRing(ctx, &kmspb.GetKeyRingRequest{Name: ring}); status.Code(err) == codes.NotFound {
		parent, ringID, _ := strings.Cut(ring, "/keyRings/")
		if _, err := k.client.CreateKeyRing(ctx, &kmspb.CreateKeyRingRequest{Parent: parent, KeyRingId: ringID, KeyRing: &kmspb.KeyRing{}}); err != nil && status.Code(err) != codes.AlreadyExists {
			return nil, classify("CreateKeyRing", err)
		}
	} else if err != nil {
		return nil, classify("GetKeyRing", err)
	}
	var version string
	_, err = k.client.CreateCryptoKey(ctx, &kmspb.CreateCryptoKeyRequest{Parent: ring, CryptoKeyId: keyID, CryptoKey: &kmspb.CryptoKey{
		Purpose:         kmspb.CryptoKey_ASYMMETRIC_SIGN,
		VersionTemplate: &kmspb.CryptoKeyVersionTemplate{Algorithm: alg, ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE},
	}})
	switch {
	case status.Code(err) == codes.AlreadyExists:
		v, err := k.client.CreateCryptoKeyVersion(ctx, &kmspb.CreateCryptoKeyVersionRequest{Parent: r, CryptoKeyVersion: &kmspb.CryptoKeyVersion{}})
		if err != nil {
			return nil, classify("CreateCryptoKeyVersion", err)
		}
		version = v.Name
	case err != nil:
		return nil, classify("CreateCryptoKey", err)
	default:
		version = r + "/cryptoKeyVersions/1"
	}
	// A new version is generated asynchronously: wait until it has a key.
	var pub crypto.PublicKey
	for i := 0; ; i++ {
		if pub, err = k.GetPublicKey(ctx, version); err == nil {
			break
		}
		if i == 20 || ctx.Err() != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
	return &kms.CreateKeyResponse{Name: version, PublicKey: pub}, nil
}

func algorithm(req kms.CreateKeyRequest) (kmspb.CryptoKeyVersion_CryptoKeyVersionAlgorithm, error) {
	switch req.Algorithm {
	case "", kms.ECDSAWithSHA256:
		return kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256, nil
	case kms.ECDSAWithSHA384:
		return kmspb.CryptoKeyVersion_EC_SIGN_P384_SHA384, nil
	case kms.SHA256WithRSA:
		switch req.Bits {
		case 2048:
			return kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_2048_SHA256, nil
		case 0, 3072:
			return kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_3072_SHA256, nil
		case 4096:
			return kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_4096_SHA256, nil
		}
	}
	return 0, errs.E(errs.BadRequest, fmt.Sprintf("cloudkms: key algorithm %q (%d bits) is not supported (EC P-256, P-384, RSA 2048/3072/4096)", req.Algorithm, req.Bits), nil)
}

// Close closes the gRPC connection.
func (k *KMS) Close() error { return k.client.Close() }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

type signer struct {
	client *kmsapi.KeyManagementClient
	name   string
	pub    crypto.PublicKey
}

func (s *signer) Public() crypto.PublicKey { return s.pub }

// Sign calls AsymmetricSign with the digest and checks the CRC32Cs both ways.
func (s *signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	d := &kmspb.Digest{}
	switch opts.HashFunc() {
	case crypto.SHA256:
		d.Digest = &kmspb.Digest_Sha256{Sha256: digest}
	case crypto.SHA384:
		d.Digest = &kmspb.Digest_Sha384{Sha384: digest}
	case crypto.SHA512:
		d.Digest = &kmspb.Digest_Sha512{Sha512: digest}
	default:
		return nil, fmt.Errorf("cloudkms: hash %v is not supported", opts.HashFunc())
	}
	switch s.pub.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
	default:
		return nil, fmt.Errorf("cloudkms: unsupported key type %T", s.pub)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := s.client.AsymmetricSign(ctx, &kmspb.AsymmetricSignRequest{Name: s.name, Digest: d, DigestCrc32C: wrapInt(crc32c(digest))})
	if err != nil {
		return nil, classify("AsymmetricSign", err)
	}
	if !resp.VerifiedDigestCrc32C || resp.SignatureCrc32C == nil || int64(crc32c(resp.Signature)) != resp.SignatureCrc32C.Value {
		return nil, errs.E(errs.Unavailable, "cloudkms: AsymmetricSign: the request or response was corrupted in transit (CRC32C)", nil)
	}
	return resp.Signature, nil
}

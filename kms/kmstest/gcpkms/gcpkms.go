// Package gcpkms is a Cloud KMS emulator for tests: a gRPC server on
// 127.0.0.1 speaking google.cloud.kms.v1.KeyManagementService for the calls
// the cloudkms backend makes (GetKeyRing, CreateKeyRing, CreateCryptoKey,
// CreateCryptoKeyVersion, GetPublicKey, AsymmetricSign) and signing with real
// in-memory keys. Every other method answers Unimplemented.
package gcpkms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	"net"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Server is a running emulator.
type Server struct {
	kmspb.UnimplementedKeyManagementServiceServer
	// Addr is host:port.
	Addr string

	mu       sync.Mutex
	rings    map[string]bool
	keys     map[string]kmspb.CryptoKeyVersion_CryptoKeyVersionAlgorithm // crypto key -> algorithm
	versions map[string]crypto.Signer                                    // version name -> key
	next     map[string]int                                              // crypto key -> next version
}

// KMSURI returns the cloudkms kms URI reaching s.
func (s *Server) KMSURI() string { return "cloudkms:endpoint=" + s.Addr + ";insecure=true" }

// Start serves on 127.0.0.1:0 until t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: l.Addr().String(), rings: map[string]bool{}, keys: map[string]kmspb.CryptoKeyVersion_CryptoKeyVersionAlgorithm{},
		versions: map[string]crypto.Signer{}, next: map[string]int{}}
	g := grpc.NewServer()
	kmspb.RegisterKeyManagementServiceServer(g, s)
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)
	return s
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) *wrapperspb.Int64Value {
	return wrapperspb.Int64(int64(crc32.Checksum(b, castagnoli)))
}

func (s *Server) GetKeyRing(_ context.Context, r *kmspb.GetKeyRingRequest) (*kmspb.KeyRing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.rings[r.Name] {
		return nil, status.Errorf(codes.NotFound, "KeyRing %s not found.", r.Name)
	}
	return &kmspb.KeyRing{Name: r.Name}, nil
}

func (s *Server) CreateKeyRing(_ context.Context, r *kmspb.CreateKeyRingRequest) (*kmspb.KeyRing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := r.Parent + "/keyRings/" + r.KeyRingId
	if s.rings[name] {
		return nil, status.Errorf(codes.AlreadyExists, "KeyRing %s already exists.", name)
	}
	s.rings[name] = true
	return &kmspb.KeyRing{Name: name}, nil
}

func (s *Server) CreateCryptoKey(_ context.Context, r *kmspb.CreateCryptoKeyRequest) (*kmspb.CryptoKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.rings[r.Parent] {
		return nil, status.Errorf(codes.NotFound, "KeyRing %s not found.", r.Parent)
	}
	name := r.Parent + "/cryptoKeys/" + r.CryptoKeyId
	if _, ok := s.keys[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "CryptoKey %s already exists.", name)
	}
	if r.CryptoKey.GetPurpose() != kmspb.CryptoKey_ASYMMETRIC_SIGN {
		return nil, status.Errorf(codes.InvalidArgument, "the emulator only makes ASYMMETRIC_SIGN keys")
	}
	alg := r.CryptoKey.GetVersionTemplate().GetAlgorithm()
	s.keys[name] = alg
	s.next[name] = 1
	if _, err := s.newVersion(name); err != nil {
		return nil, err
	}
	return &kmspb.CryptoKey{Name: name, Purpose: kmspb.CryptoKey_ASYMMETRIC_SIGN, VersionTemplate: r.CryptoKey.VersionTemplate}, nil
}

func (s *Server) CreateCryptoKeyVersion(_ context.Context, r *kmspb.CreateCryptoKeyVersionRequest) (*kmspb.CryptoKeyVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[r.Parent]; !ok {
		return nil, status.Errorf(codes.NotFound, "CryptoKey %s not found.", r.Parent)
	}
	name, err := s.newVersion(r.Parent)
	if err != nil {
		return nil, err
	}
	return &kmspb.CryptoKeyVersion{Name: name, Algorithm: s.keys[r.Parent], State: kmspb.CryptoKeyVersion_ENABLED}, nil
}

// newVersion generates the next version's key; s.mu is held.
func (s *Server) newVersion(key string) (string, error) {
	var k crypto.Signer
	var err error
	switch s.keys[key] {
	case kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case kmspb.CryptoKeyVersion_EC_SIGN_P384_SHA384:
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_2048_SHA256:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_3072_SHA256:
		k, err = rsa.GenerateKey(rand.Reader, 3072)
	default:
		return "", status.Errorf(codes.InvalidArgument, "the emulator does not make %v keys", s.keys[key])
	}
	if err != nil {
		return "", status.Error(codes.Internal, err.Error())
	}
	name := fmt.Sprintf("%s/cryptoKeyVersions/%d", key, s.next[key])
	s.next[key]++
	s.versions[name] = k
	return name, nil
}

func (s *Server) version(name string) (crypto.Signer, kmspb.CryptoKeyVersion_CryptoKeyVersionAlgorithm, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.versions[name]
	if !ok {
		return nil, 0, status.Errorf(codes.NotFound, "CryptoKeyVersion %s not found.", name)
	}
	key, _, _ := strings.Cut(name, "/cryptoKeyVersions/")
	return k, s.keys[key], nil
}

func (s *Server) GetPublicKey(_ context.Context, r *kmspb.GetPublicKeyRequest) (*kmspb.PublicKey, error) {
	k, alg, err := s.version(r.Name)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	p := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return &kmspb.PublicKey{Name: r.Name, Pem: p, PemCrc32C: crc([]byte(p)), Algorithm: alg}, nil
}

func (s *Server) AsymmetricSign(_ context.Context, r *kmspb.AsymmetricSignRequest) (*kmspb.AsymmetricSignResponse, error) {
	k, _, err := s.version(r.Name)
	if err != nil {
		return nil, err
	}
	var digest []byte
	var h crypto.Hash
	switch d := r.GetDigest().GetDigest().(type) {
	case *kmspb.Digest_Sha256:
		digest, h = d.Sha256, crypto.SHA256
	case *kmspb.Digest_Sha384:
		digest, h = d.Sha384, crypto.SHA384
	default:
		return nil, status.Errorf(codes.InvalidArgument, "digest required")
	}
	if len(digest) != h.Size() {
		return nil, status.Errorf(codes.InvalidArgument, "digest length %d, want %d", len(digest), h.Size())
	}
	verified := false
	if r.DigestCrc32C != nil {
		if crc(digest).Value != r.DigestCrc32C.Value {
			return nil, status.Errorf(codes.InvalidArgument, "digest CRC32C mismatch")
		}
		verified = true
	}
	sig, err := k.Sign(rand.Reader, digest, h)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &kmspb.AsymmetricSignResponse{Name: r.Name, Signature: sig, SignatureCrc32C: crc(sig), VerifiedDigestCrc32C: verified}, nil
}

// Package kms declares the key manager: where the CA's private keys live
// (files, an HSM over PKCS#11, a cloud KMS) and how to sign with them. It
// parses step's key URIs ("pkcs11:id=7331;object=root-ca") and holds the
// explicit registry of backends that cmd/step-ca and cmd/step build.
package kms

import (
	"context"
	"crypto"
	"fmt"
	"sort"
	"strings"

	"github.com/mayfly-pki/mayfly/internal/errs"
)

// KeyManager is one opened key store. Implementations are safe for
// concurrent use. Every method honours ctx where the backend can (network
// KMSs); PKCS#11 calls cannot be interrupted once started. Errors for a key
// that does not exist wrap errs.NotFound; a backend that cannot be reached
// returns errs.Unavailable.
type KeyManager interface {
	// GetPublicKey returns the public key of the key named by name (a key
	// URI or, for softkms, a file path).
	GetPublicKey(ctx context.Context, name string) (crypto.PublicKey, error)
	// CreateSigner returns a signer for the key. Signatures made by a
	// signer outside this process must be verified by the caller before
	// use (see External).
	CreateSigner(ctx context.Context, name string) (crypto.Signer, error)
	// CreateKey creates a new key pair. It fails with errs.Conflict when a
	// key of that name exists.
	CreateKey(ctx context.Context, req CreateKeyRequest) (*CreateKeyResponse, error)
	// Close releases the backend's sessions. The manager is unusable after.
	Close() error
}

// SignatureAlgorithm names the key to create, with step's names.
type SignatureAlgorithm string

// The key kinds backends may support.
const (
	ECDSAWithSHA256 SignatureAlgorithm = "EC-P256"
	ECDSAWithSHA384 SignatureAlgorithm = "EC-P384"
	ECDSAWithSHA512 SignatureAlgorithm = "EC-P521"
	SHA256WithRSA   SignatureAlgorithm = "RSA"
	PureEd25519     SignatureAlgorithm = "OKP-Ed25519"
)

// CreateKeyRequest asks for a new key.
type CreateKeyRequest struct {
	// Name is the key's URI or path, as GetPublicKey takes it.
	Name string
	// Algorithm is the key kind; empty means EC P-256, as step's default.
	Algorithm SignatureAlgorithm
	// Bits is the RSA size (default 3072).
	Bits int
}

// CreateKeyResponse is the created key.
type CreateKeyResponse struct {
	Name      string
	PublicKey crypto.PublicKey
}

// Options open a key manager: ca.json's "kms" block, or step's --kms URI.
type Options struct {
	Type             string
	URI              string
	CredentialsFile  string
	Pin              string
	ManagementKey    string
	Region           string
	Profile          string
	StorageDirectory string
}

// Backend returns the backend type Options select: Type, else the URI's
// scheme, else softkms. Lower case.
func (o Options) Backend() string {
	if t := strings.ToLower(strings.TrimSpace(o.Type)); t != "" {
		return t
	}
	if s := Scheme(o.URI); s != "" {
		return s
	}
	return "softkms"
}

// Opener opens one backend. It must not start background work.
type Opener func(ctx context.Context, o Options) (KeyManager, error)

// Registry maps a backend type ("softkms", "pkcs11", ...) to its opener. It
// is a plain value built by the binaries; the cgo backends are added only
// when the build includes them.
type Registry map[string]Opener

// Open opens the backend o selects.
func (r Registry) Open(ctx context.Context, o Options) (KeyManager, error) {
	t := o.Backend()
	open, ok := r[t]
	if !ok {
		return nil, errs.E(errs.BadRequest, fmt.Sprintf("kms type %q is not supported by this build (supported: %s)", t, strings.Join(r.Types(), ", ")), nil)
	}
	km, err := open(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("kms %s: %w", t, err)
	}
	return km, nil
}

// Types lists the registered backends, sorted.
func (r Registry) Types() []string {
	ts := make([]string, 0, len(r))
	for t := range r {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// External marks a signer whose private key lives outside this process (an
// HSM, a cloud KMS). The issuer verifies every signature such a signer makes
// before the certificate is stored or returned.
type External interface {
	crypto.Signer
	// KeyManager names the backend, for errors and /health ("pkcs11").
	KeyManager() string
}

// KeyParams returns the key type, curve and RSA size of an algorithm, as
// internal/keyutil.Generate takes them.
func (a SignatureAlgorithm) KeyParams(bits int) (kty, crv string, size int, err error) {
	switch a {
	case "", ECDSAWithSHA256:
		return "EC", "P-256", 0, nil
	case ECDSAWithSHA384:
		return "EC", "P-384", 0, nil
	case ECDSAWithSHA512:
		return "EC", "P-521", 0, nil
	case SHA256WithRSA:
		if bits == 0 {
			bits = 3072
		}
		return "RSA", "", bits, nil
	case PureEd25519:
		return "OKP", "Ed25519", 0, nil
	}
	return "", "", 0, fmt.Errorf("unsupported key algorithm %q", a)
}

// AlgorithmFor maps step's --kty/--crv flags to an algorithm.
func AlgorithmFor(kty, crv string) (SignatureAlgorithm, error) {
	switch strings.ToUpper(kty) {
	case "", "EC":
		switch strings.ToUpper(strings.ReplaceAll(crv, "-", "")) {
		case "", "P256":
			return ECDSAWithSHA256, nil
		case "P384":
			return ECDSAWithSHA384, nil
		case "P521":
			return ECDSAWithSHA512, nil
		}
		return "", fmt.Errorf("--crv %q: unsupported curve for EC (P-256, P-384, P-521)", crv)
	case "RSA":
		return SHA256WithRSA, nil
	case "OKP":
		if crv == "" || strings.EqualFold(crv, "Ed25519") {
			return PureEd25519, nil
		}
		return "", fmt.Errorf("--crv %q: unsupported curve for OKP (Ed25519)", crv)
	}
	return "", fmt.Errorf("--kty %q: unsupported key type (EC, RSA, OKP)", kty)
}

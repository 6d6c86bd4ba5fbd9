// Package azurekms is the key manager for Azure Key Vault keys, through
// azkeys and azidentity.
//
// Key names are step's: "azurekms:name=<key>;vault=<vault>?version=<v>&hsm=true"
// (version empty: the latest; hsm only matters when creating). The kms URI
// may carry client credentials,
//
//	azurekms:client-id=...;client-secret=...;tenant-id=...;environment=AzurePublicCloud
//
// else azidentity's default chain (environment, managed identity, Azure CLI)
// is used. For a private endpoint or an emulator, vault-url=https://host:port
// replaces every vault's URL, authority-host=https://host sets the Microsoft
// Entra endpoint, and ca-file=<PEM> adds roots trusted for both.
package azurekms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/kms"
)

// Type is the registry name.
const Type = "azurekms"

const callTimeout = 15 * time.Second

// vaultSuffixes maps step's environment names to Key Vault DNS suffixes.
var vaultSuffixes = map[string]string{
	"":                       "vault.azure.net",
	"azurepubliccloud":       "vault.azure.net",
	"azurechinacloud":        "vault.azure.cn",
	"azureusgovernmentcloud": "vault.usgovcloudapi.net",
}

// KMS is one Key Vault client factory (a client per vault). Safe for
// concurrent use.
type KMS struct {
	cred     azcore.TokenCredential
	suffix   string
	vaultURL string // override, "" for https://<vault>.<suffix>
	opts     azkeys.ClientOptions

	mu      sync.Mutex
	clients map[string]*azkeys.Client
}

var _ kms.KeyManager = (*KMS)(nil)

// New is the kms.Opener for "azurekms".
func New(_ context.Context, o kms.Options) (kms.KeyManager, error) {
	u := &kms.URI{}
	if o.URI != "" {
		var err error
		if u, err = kms.ParseURI(o.URI); err != nil {
			return nil, errs.E(errs.BadRequest, "azurekms: "+err.Error(), nil)
		}
		if u.Scheme != Type {
			return nil, errs.E(errs.BadRequest, fmt.Sprintf("azurekms: the kms uri has scheme %q, want azurekms", u.Scheme), nil)
		}
	}
	env := strings.ToLower(u.Get("environment"))
	suffix, ok := vaultSuffixes[env]
	if !ok {
		return nil, errs.E(errs.BadRequest, fmt.Sprintf("azurekms: environment %q is not supported (AzurePublicCloud, AzureChinaCloud, AzureUSGovernmentCloud)", u.Get("environment")), nil)
	}
	k := &KMS{suffix: suffix, vaultURL: u.Get("vault-url"), clients: map[string]*azkeys.Client{}}
	var co azcore.ClientOptions
	switch env {
	case "azurechinacloud":
		co.Cloud = cloud.AzureChina
	case "azureusgovernmentcloud":
		co.Cloud = cloud.AzureGovernment
	}
	if f := u.Get("ca-file"); f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, errs.E(errs.BadRequest, "azurekms: ca-file", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errs.E(errs.BadRequest, "azurekms: ca-file "+f+" holds no PEM certificate", nil)
		}
		co.Transport = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	}
	authorityHost := u.Get("authority-host")
	if authorityHost != "" {
		co.Cloud.ActiveDirectoryAuthorityHost = authorityHost
	}
	co.Retry = policy.RetryOptions{MaxRetries: 2}
	clientID, secret, tenant := u.Get("client-id"), u.Get("client-secret"), u.Get("tenant-id")
	var err error
	switch {
	case clientID != "" && secret != "" && tenant != "":
		k.cred, err = azidentity.NewClientSecretCredential(tenant, clientID, secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: authorityHost != ""})
	case clientID != "" || secret != "" || tenant != "":
		return nil, errs.E(errs.BadRequest, "azurekms: client-id, client-secret and tenant-id go together", nil)
	default:
		k.cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: co})
	}
	if err != nil {
		return nil, errs.E(errs.BadRequest, "azurekms: credentials", err)
	}
	k.opts = azkeys.ClientOptions{ClientOptions: co, DisableChallengeResourceVerification: k.vaultURL != ""}
	return k, nil
}

// keyRef is a parsed key name.
type keyRef struct {
	vault, name, version string
	hsm                  bool
}

func parseKey(name string) (keyRef, error) {
	u, err := kms.ParseURI(name)
	if err != nil {
		return keyRef{}, errs.E(errs.BadRequest, "azurekms: "+err.Error(), nil)
	}
	if u.Scheme != Type {
		return keyRef{}, errs.E(errs.BadRequest, fmt.Sprintf("azurekms: key %q is not an azurekms: URI", kms.Redact(name)), nil)
	}
	r := keyRef{vault: u.Get("vault"), name: u.Get("name"), version: u.Get("version"), hsm: u.Get("hsm") == "true"}
	if r.vault == "" || r.name == "" {
		return keyRef{}, errs.E(errs.BadRequest, fmt.Sprintf("azurekms: key %q needs name and vault", kms.Redact(name)), nil)
	}
	return r, nil
}

func (k *KMS) client(vault string) (*azkeys.Client, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c, ok := k.clients[vault]; ok {
		return c, nil
	}
	url := k.vaultURL
	if url == "" {
		url = "https://" + vault + "." + k.suffix + "/"
	}
	c, err := azkeys.NewClient(url, k.cred, &k.opts)
	if err != nil {
		return nil, errs.E(errs.BadRequest, "azurekms: vault "+vault, err)
	}
	k.clients[vault] = c
	return c, nil
}

func classify(what string, err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case http.StatusNotFound:
			return errs.E(errs.NotFound, "azurekms: "+what+": not found", err)
		case http.StatusConflict:
			return errs.E(errs.Conflict, "azurekms: "+what+": conflict", err)
		case http.StatusBadRequest:
			return errs.E(errs.BadRequest, "azurekms: "+what+" refused", err)
		case http.StatusUnauthorized, http.StatusForbidden:
			return errs.E(errs.Forbidden, "azurekms: "+what+": access denied", err)
		}
	}
	return errs.E(errs.Unavailable, "azurekms: "+what+" failed", err)
}

// publicKey converts a JSON web key.
func publicKey(j *azkeys.JSONWebKey) (crypto.PublicKey, error) {
	if j == nil || j.Kty == nil {
		return nil, errors.New("azurekms: the vault returned no key")
	}
	switch *j.Kty {
	case azkeys.KeyTypeEC, azkeys.KeyTypeECHSM:
		var c elliptic.Curve
		switch {
		case j.Crv == nil:
			return nil, errors.New("azurekms: EC key without a curve")
		case *j.Crv == azkeys.CurveNameP256:
			c = elliptic.P256()
		case *j.Crv == azkeys.CurveNameP384:
			c = elliptic.P384()
		case *j.Crv == azkeys.CurveNameP521:
			c = elliptic.P521()
		default:
			return nil, fmt.Errorf("azurekms: curve %s is not supported", *j.Crv)
		}
		pub := &ecdsa.PublicKey{Curve: c, X: new(big.Int).SetBytes(j.X), Y: new(big.Int).SetBytes(j.Y)}
		if _, err := pub.ECDH(); err != nil {
			return nil, fmt.Errorf("azurekms: the vault's EC key is not on its curve")
		}
		return pub, nil
	case azkeys.KeyTypeRSA, azkeys.KeyTypeRSAHSM:
		return &rsa.PublicKey{N: new(big.Int).SetBytes(j.N), E: int(new(big.Int).SetBytes(j.E).Int64())}, nil
	}
	return nil, fmt.Errorf("azurekms: key type %s is not supported", *j.Kty)
}

// GetPublicKey returns the key's public key.
func (k *KMS) GetPublicKey(ctx context.Context, name string) (crypto.PublicKey, error) {
	_, _, key, err := k.getKey(ctx, name)
	if err != nil {
		return nil, err
	}
	return publicKey(key)
}

// getKey reads the key named by the URI name from its vault.
func (k *KMS) getKey(ctx context.Context, name string) (keyRef, *azkeys.Client, *azkeys.JSONWebKey, error) {
	r, err := parseKey(name)
	if err != nil {
		return r, nil, nil, err
	}
	c, err := k.client(r.vault)
	if err != nil {
		return r, nil, nil, err
	}
	resp, err := c.GetKey(ctx, r.name, r.version, nil)
	if err != nil {
		return r, nil, nil, classify("GetKey", err)
	}
	return r, c, resp.Key, nil
}

// CreateSigner returns a signer calling the vault's sign operation.
func (k *KMS) CreateSigner(ctx context.Context, name string) (crypto.Signer, error) {
	r, c, key, err := k.getKey(ctx, name)
	if err != nil {
		return nil, err
	}
	pub, err := publicKey(key)
	if err != nil {
		return nil, err
	}
	version := r.version
	if version == "" && key.KID != nil {
		version = key.KID.Version() // pin the version read now
	}
	return &signer{client: c, name: r.name, version: version, pub: pub}, nil
}

// CreateKey creates a key (a new version if the name exists, as Key Vault
// does) and answers its name with the new version.
func (k *KMS) CreateKey(ctx context.Context, req kms.CreateKeyRequest) (*kms.CreateKeyResponse, error) {
	r, err := parseKey(req.Name)
	if err != nil {
		return nil, err
	}
	c, err := k.client(r.vault)
	if err != nil {
		return nil, err
	}
	p := azkeys.CreateKeyParameters{}
	kty := azkeys.KeyTypeEC
	switch req.Algorithm {
	case "", kms.ECDSAWithSHA256:
		p.Curve = to(azkeys.CurveNameP256)
	case kms.ECDSAWithSHA384:
		p.Curve = to(azkeys.CurveNameP384)
	case kms.ECDSAWithSHA512:
		p.Curve = to(azkeys.CurveNameP521)
	case kms.SHA256WithRSA:
		kty = azkeys.KeyTypeRSA
		bits := int32(req.Bits)
		if bits == 0 {
			bits = 3072
		}
		p.KeySize = &bits
	default:
		return nil, errs.E(errs.BadRequest, fmt.Sprintf("azurekms: key algorithm %q is not supported", req.Algorithm), nil)
	}
	if r.hsm {
		if kty == azkeys.KeyTypeEC {
			kty = azkeys.KeyTypeECHSM
		} else {
			kty = azkeys.KeyTypeRSAHSM
		}
	}
	p.Kty = &kty
	p.KeyOps = []*azkeys.KeyOperation{to(azkeys.KeyOperationSign), to(azkeys.KeyOperationVerify)}
	resp, err := c.CreateKey(ctx, r.name, p, nil)
	if err != nil {
		return nil, classify("CreateKey", err)
	}
	pub, err := publicKey(resp.Key)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("azurekms:name=%s;vault=%s", r.name, r.vault)
	if resp.Key.KID != nil && resp.Key.KID.Version() != "" {
		name += "?version=" + resp.Key.KID.Version()
	}
	return &kms.CreateKeyResponse{Name: name, PublicKey: pub}, nil
}

// Close does nothing.
func (k *KMS) Close() error { return nil }

func to[T any](v T) *T { return &v }

type signer struct {
	client        *azkeys.Client
	name, version string
	pub           crypto.PublicKey
}

func (s *signer) Public() crypto.PublicKey { return s.pub }

func (s *signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	alg, err := signatureAlgorithm(s.pub, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := s.client.Sign(ctx, s.name, s.version, azkeys.SignParameters{Algorithm: &alg, Value: digest}, nil)
	if err != nil {
		return nil, classify("Sign", err)
	}
	if _, ok := s.pub.(*ecdsa.PublicKey); ok {
		return jwsToASN1(resp.Result)
	}
	return resp.Result, nil
}

// signatureAlgorithms are Key Vault's names of the signatures it makes.
var signatureAlgorithms = map[kms.SignScheme]azkeys.SignatureAlgorithm{
	{Hash: crypto.SHA256}:                       azkeys.SignatureAlgorithmES256,
	{Hash: crypto.SHA384}:                       azkeys.SignatureAlgorithmES384,
	{Hash: crypto.SHA512}:                       azkeys.SignatureAlgorithmES512,
	{RSA: true, Hash: crypto.SHA256, PSS: true}: azkeys.SignatureAlgorithmPS256,
	{RSA: true, Hash: crypto.SHA384, PSS: true}: azkeys.SignatureAlgorithmPS384,
	{RSA: true, Hash: crypto.SHA512, PSS: true}: azkeys.SignatureAlgorithmPS512,
	{RSA: true, Hash: crypto.SHA256}:            azkeys.SignatureAlgorithmRS256,
	{RSA: true, Hash: crypto.SHA384}:            azkeys.SignatureAlgorithmRS384,
	{RSA: true, Hash: crypto.SHA512}:            azkeys.SignatureAlgorithmRS512,
}

func signatureAlgorithm(pub crypto.PublicKey, opts crypto.SignerOpts) (azkeys.SignatureAlgorithm, error) {
	if sc, ok := kms.SignSchemeOf(pub, opts); ok {
		if alg, ok := signatureAlgorithms[sc]; ok {
			return alg, nil
		}
	}
	return "", fmt.Errorf("azurekms: cannot sign with hash %v for a %T key", opts.HashFunc(), pub)
}

// jwsToASN1 converts a JWS ECDSA signature (r||s) to ASN.1 DER.
func jwsToASN1(sig []byte) ([]byte, error) {
	if len(sig) == 0 || len(sig)%2 != 0 {
		return nil, fmt.Errorf("azurekms: ECDSA signature of %d bytes", len(sig))
	}
	n := len(sig) / 2
	return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])})
}

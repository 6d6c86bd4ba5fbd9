// Package awskms is the key manager for AWS KMS, through aws-sdk-go-v2.
//
// The kms URI (or ca.json's kms block) sets the client:
//
//	awskms:region=us-east-1;profile=ca;credentials-file=/etc/step-ca/aws-credentials
//
// plus endpoint=<url> to reach a KMS-compatible server (local-kms in the
// tests, a VPC endpoint). Key names are "awskms:key-id=<id or ARN>"
// ("awskms:<id>" and "awskms:alias=<name>" are accepted too). CreateKey
// takes a name ("root-ca", or "awskms:name=root-ca"), answers
// "awskms:key-id=<new id>" and, as step's kms plugin, adds the alias
// alias/<name>-<first segment of the key id>; creating the same name twice
// makes two keys.
package awskms

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/kms"
)

// Type is the registry name.
const Type = "awskms"

// callTimeout bounds each KMS call a signer makes (crypto.Signer has no context).
const callTimeout = 15 * time.Second

// KMS is one AWS KMS client. Safe for concurrent use.
type KMS struct {
	client *awskms.Client
}

var _ kms.KeyManager = (*KMS)(nil)

// New is the kms.Opener for "awskms".
func New(ctx context.Context, o kms.Options) (kms.KeyManager, error) {
	region, profile, credFile, endpoint := o.Region, o.Profile, o.CredentialsFile, ""
	if o.URI != "" {
		u, err := kms.ParseURI(o.URI)
		if err != nil {
			return nil, errs.E(errs.BadRequest, "awskms: "+err.Error(), nil)
		}
		if u.Scheme != Type {
			return nil, errs.E(errs.BadRequest, fmt.Sprintf("awskms: the kms uri has scheme %q, want awskms", u.Scheme), nil)
		}
		if v := u.Get("region"); v != "" {
			region = v
		}
		if v := u.Get("profile"); v != "" {
			profile = v
		}
		if v := u.Get("credentials-file"); v != "" {
			credFile = v
		}
		endpoint = u.Get("endpoint")
	}
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	if credFile != "" {
		opts = append(opts, config.WithSharedCredentialsFiles([]string{credFile}))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, errs.E(errs.BadRequest, "awskms: loading the AWS configuration failed", err)
	}
	client := awskms.NewFromConfig(cfg, func(o *awskms.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return &KMS{client: client}, nil
}

// keyID returns the KMS KeyId a key name selects.
func keyID(name string) (string, error) {
	u, err := kms.ParseURI(name)
	if err != nil {
		return "", errs.E(errs.BadRequest, "awskms: "+err.Error(), nil)
	}
	if u.Scheme != Type {
		return "", errs.E(errs.BadRequest, fmt.Sprintf("awskms: key %q is not an awskms: URI", kms.Redact(name)), nil)
	}
	if v := u.Get("key-id"); v != "" {
		return v, nil
	}
	if v := u.Get("alias"); v != "" {
		return "alias/" + strings.TrimPrefix(v, "alias/"), nil
	}
	// "awskms:<key id>" or "awskms:arn:aws:kms:..." with no attributes.
	rest := strings.TrimPrefix(name, Type+":")
	if rest != "" && !strings.Contains(rest, "=") {
		return rest, nil
	}
	return "", errs.E(errs.BadRequest, fmt.Sprintf("awskms: key %q has no key-id", kms.Redact(name)), nil)
}

// classify maps an AWS error to an errs kind.
func classify(what string, err error) error {
	var nf *types.NotFoundException
	var exists *types.AlreadyExistsException
	switch {
	case errors.As(err, &nf):
		return errs.E(errs.NotFound, "awskms: "+what+": key not found", err)
	case errors.As(err, &exists):
		return errs.E(errs.Conflict, "awskms: "+what+": already exists", err)
	}
	return errs.E(errs.Unavailable, "awskms: "+what+" failed", err)
}

// GetPublicKey returns the key's public key.
func (k *KMS) GetPublicKey(ctx context.Context, name string) (crypto.PublicKey, error) {
	id, err := keyID(name)
	if err != nil {
		return nil, err
	}
	out, err := k.client.GetPublicKey(ctx, &awskms.GetPublicKeyInput{KeyId: aws.String(id)})
	if err != nil {
		return nil, classify("GetPublicKey", err)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("awskms: parsing the public key of %s: %w", id, err)
	}
	return pub, nil
}

// CreateSigner returns a signer that calls KMS Sign for each signature.
func (k *KMS) CreateSigner(ctx context.Context, name string) (crypto.Signer, error) {
	id, err := keyID(name)
	if err != nil {
		return nil, err
	}
	pub, err := k.GetPublicKey(ctx, name)
	if err != nil {
		return nil, err
	}
	return &signer{client: k.client, keyID: id, pub: pub}, nil
}

// CreateKey creates an asymmetric SIGN_VERIFY key, with alias/<name> when
// the name has one.
func (k *KMS) CreateKey(ctx context.Context, req kms.CreateKeyRequest) (*kms.CreateKeyResponse, error) {
	base := req.Name
	if kms.Scheme(base) != "" {
		u, err := kms.ParseURI(req.Name)
		if err != nil || u.Scheme != Type {
			return nil, errs.E(errs.BadRequest, fmt.Sprintf("awskms: key name %q is neither a name nor awskms:name=<name>", kms.Redact(req.Name)), nil)
		}
		base = u.Get("name")
	}
	if len(base) > 200 {
		return nil, errs.E(errs.BadRequest, "awskms: the key name is longer than 200 characters", nil)
	}
	var spec types.KeySpec
	switch req.Algorithm {
	case "", kms.ECDSAWithSHA256:
		spec = types.KeySpecEccNistP256
	case kms.ECDSAWithSHA384:
		spec = types.KeySpecEccNistP384
	case kms.ECDSAWithSHA512:
		spec = types.KeySpecEccNistP521
	case kms.SHA256WithRSA:
		switch req.Bits {
		case 2048:
			spec = types.KeySpecRsa2048
		case 0, 3072:
			spec = types.KeySpecRsa3072
		case 4096:
			spec = types.KeySpecRsa4096
		default:
			return nil, errs.E(errs.BadRequest, fmt.Sprintf("awskms: RSA size %d is not supported (2048, 3072, 4096)", req.Bits), nil)
		}
	default:
		return nil, errs.E(errs.BadRequest, fmt.Sprintf("awskms: key algorithm %q is not supported", req.Algorithm), nil)
	}
	out, err := k.client.CreateKey(ctx, &awskms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeSignVerify})
	if err != nil {
		return nil, classify("CreateKey", err)
	}
	id := aws.ToString(out.KeyMetadata.KeyId)
	if base != "" {
		first, _, _ := strings.Cut(id, "-")
		alias := "alias/" + strings.TrimPrefix(base, "alias/") + "-" + first
		if _, err := k.client.CreateAlias(ctx, &awskms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(id)}); err != nil {
			return nil, classify("CreateAlias", err)
		}
	}
	name := Type + ":key-id=" + id
	pub, err := k.GetPublicKey(ctx, name)
	if err != nil {
		return nil, err
	}
	return &kms.CreateKeyResponse{Name: name, PublicKey: pub}, nil
}

// Close does nothing: the client holds no session.
func (k *KMS) Close() error { return nil }

type signer struct {
	client *awskms.Client
	keyID  string
	pub    crypto.PublicKey
}

func (s *signer) Public() crypto.PublicKey { return s.pub }

// Sign asks KMS to sign the digest.
func (s *signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	alg, err := signingAlgorithm(s.pub, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	out, err := s.client.Sign(ctx, &awskms.SignInput{KeyId: aws.String(s.keyID), Message: digest,
		MessageType: types.MessageTypeDigest, SigningAlgorithm: alg})
	if err != nil {
		return nil, classify("Sign", err)
	}
	return out.Signature, nil
}

// signingAlgorithms are KMS's names of the signatures it makes.
var signingAlgorithms = map[kms.SignScheme]types.SigningAlgorithmSpec{
	{Hash: crypto.SHA256}:                       types.SigningAlgorithmSpecEcdsaSha256,
	{Hash: crypto.SHA384}:                       types.SigningAlgorithmSpecEcdsaSha384,
	{Hash: crypto.SHA512}:                       types.SigningAlgorithmSpecEcdsaSha512,
	{RSA: true, Hash: crypto.SHA256, PSS: true}: types.SigningAlgorithmSpecRsassaPssSha256,
	{RSA: true, Hash: crypto.SHA384, PSS: true}: types.SigningAlgorithmSpecRsassaPssSha384,
	{RSA: true, Hash: crypto.SHA512, PSS: true}: types.SigningAlgorithmSpecRsassaPssSha512,
	{RSA: true, Hash: crypto.SHA256}:            types.SigningAlgorithmSpecRsassaPkcs1V15Sha256,
	{RSA: true, Hash: crypto.SHA384}:            types.SigningAlgorithmSpecRsassaPkcs1V15Sha384,
	{RSA: true, Hash: crypto.SHA512}:            types.SigningAlgorithmSpecRsassaPkcs1V15Sha512,
}

func signingAlgorithm(pub crypto.PublicKey, opts crypto.SignerOpts) (types.SigningAlgorithmSpec, error) {
	if sc, ok := kms.SignSchemeOf(pub, opts); ok {
		if alg, ok := signingAlgorithms[sc]; ok {
			return alg, nil
		}
	}
	return "", fmt.Errorf("awskms: cannot sign with hash %v for a %T key", opts.HashFunc(), pub)
}

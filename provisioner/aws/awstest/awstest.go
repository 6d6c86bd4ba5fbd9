// Package awstest fakes AWS for tests: a signing certificate (what iidRoots
// names), instance identity documents signed by its key, step's HS256
// tokens of them, and the instance metadata service (IMDSv1 and v2).
package awstest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/provisioner/aws"
	"github.com/mayfly-pki/mayfly/provisioner/gcp/gcptest"
)

// AWS is a fake AWS signer: Cert's key signs identity documents; CertFile is
// its PEM, for iidRoots.
type AWS struct {
	Key      *rsa.PrivateKey
	Cert     *x509.Certificate
	CertFile string
}

// New returns a fake AWS with its certificate written in a temporary
// directory.
func New(t testing.TB) *AWS {
	t.Helper()
	key := gcptest.NewKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ec2.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "aws.crt")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &AWS{Key: key, Cert: cert, CertFile: file}
}

// DefaultDocument is an instance of account 123456789012 started an hour
// before now.
func DefaultDocument(now time.Time) aws.Document {
	return aws.Document{
		AccountID: "123456789012", Architecture: "x86_64", AvailabilityZone: "us-west-2b", ImageID: "ami-5fb8c835",
		InstanceID: "i-0123456789abcdef0", InstanceType: "t2.micro", PendingTime: now.Add(-time.Hour).UTC().Truncate(time.Second),
		PrivateIP: "10.0.1.2", Region: "us-west-2", Version: "2017-09-30",
	}
}

// Sign returns the document's JSON and the signature AWS gives it.
func (a *AWS) Sign(t testing.TB, doc aws.Document) ([]byte, []byte) {
	t.Helper()
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	sig, err := rsa.SignPKCS1v15(rand.Reader, a.Key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return b, sig
}

// Token returns step's token for a document and its signature: claims
// (aud, sub, times, ...) with "amazon" added, HS256 keyed by the signature.
func Token(t testing.TB, claims map[string]any, doc, sig []byte) string {
	t.Helper()
	claims["amazon"] = map[string]any{"document": doc, "signature": sig}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: sig}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Claims are the claims step writes for sub and aud at now.
func Claims(sub, aud string, now time.Time) map[string]any {
	return map[string]any{
		"aud": []string{aud}, "sub": sub, "iss": aws.Issuer, "jti": "x",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
}

// Metadata starts a fake instance metadata service for doc: IMDSv2 (a
// session token from PUT /latest/api/token required) unless v1 is true,
// stopped at cleanup. Its URL is the base step's MAYFLY_AWS_METADATA_URL
// takes.
func (a *AWS) Metadata(t testing.TB, doc aws.Document, v1 bool) *httptest.Server {
	t.Helper()
	b, sig := a.Sign(t, doc)
	const session = "imds-session-token"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/api/token" {
			if v1 || r.Method != http.MethodPut || r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			_, _ = w.Write([]byte(session))
			return
		}
		if !v1 && r.Header.Get("X-aws-ec2-metadata-token") != session {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/latest/dynamic/instance-identity/document":
			_, _ = w.Write(b)
		case "/latest/dynamic/instance-identity/signature":
			_, _ = w.Write([]byte(base64.StdEncoding.EncodeToString(sig)))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

package scep_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/micromdm/scep/v2/cryptoutil/x509util"
	microscep "github.com/micromdm/scep/v2/scep"
	"go.mozilla.org/pkcs7"

	scepapi "github.com/mayfly-pki/mayfly/api/scep"
	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/db/memory"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/scep"
)

// decrypter is an RSA pair issued by the test intermediate, valid now (the
// CertRep's signing time is the wall clock) and at the test epoch.
type decrypter struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

func newDecrypter(t testing.TB, pki *authoritytest.PKI) decrypter {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(77),
		Subject:      pkix.Name{CommonName: "SCEP decrypter"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     authoritytest.Epoch.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, pki.Intermediate, &key.PublicKey, pki.IntermediateKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return decrypter{cert: cert, key: key}
}

type env struct {
	*authoritytest.Env
	dec decrypter
	url string // .../scep/scep
}

// newEnv serves a CA with a SCEP provisioner "scep" (challenge "s3cret",
// its own decrypter) plus the fields of extra.
func newEnv(t *testing.T, extra map[string]any, withDecrypter bool) *env {
	t.Helper()
	var dec decrypter
	e := authoritytest.New(t, authoritytest.Options{
		Registry: provisioner.Registry{provisioner.TypeSCEP: scep.New},
		MoreProvisionersFn: func(pki *authoritytest.PKI) []json.RawMessage {
			m := map[string]any{"type": "SCEP", "name": "scep", "challenge": "s3cret"}
			if withDecrypter {
				dec = newDecrypter(t, pki)
				m["decrypterCertificate"] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: dec.cert.Raw})
				m["decrypterKeyPEM"] = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(dec.key)})
			}
			for k, v := range extra {
				m[k] = v
			}
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			return []json.RawMessage{b}
		},
	})
	r := chi.NewRouter()
	scepapi.New(scepapi.Deps{Authority: func() *authority.Authority { return e.Authority }}).Mount(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &env{Env: e, dec: dec, url: srv.URL + "/scep/scep"}
}

func get(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestGetCACaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, true)
	resp, body := get(t, e.url+"?operation=GetCACaps")
	if resp.StatusCode != 200 || string(body) != strings.Join(scep.DefaultCapabilities, "\r\n") {
		t.Fatalf("GetCACaps = %d %q", resp.StatusCode, body)
	}
	e2 := newEnv(t, map[string]any{"capabilities": []string{"SHA-256", "POSTPKIOperation"}}, true)
	_, body = get(t, e2.url+"/pkiclient.exe?operation=GetCACaps")
	if string(body) != "SHA-256\r\nPOSTPKIOperation" {
		t.Fatalf("GetCACaps with capabilities = %q", body)
	}
}

func TestGetCACert(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, true)
	resp, body := get(t, e.url+"?operation=GetCACert")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != scepapi.ContentTypeCARACert {
		t.Fatalf("GetCACert = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	certs, err := microscep.CACerts(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 2 || !certs[0].Equal(e.dec.cert) || !certs[1].Equal(e.PKI.Intermediate) {
		t.Fatalf("GetCACert returned %d certificates", len(certs))
	}

	one := newEnv(t, map[string]any{"excludeIntermediate": true}, true)
	resp, body = get(t, one.url+"?operation=GetCACert")
	if resp.Header.Get("Content-Type") != scepapi.ContentTypeCACert || !bytes.Equal(body, one.dec.cert.Raw) {
		t.Fatalf("GetCACert excludeIntermediate = %s", resp.Header.Get("Content-Type"))
	}

	root := newEnv(t, map[string]any{"includeRoot": true}, true)
	_, body = get(t, root.url+"?operation=GetCACert")
	if certs, err = microscep.CACerts(body); err != nil || len(certs) != 3 || !certs[2].Equal(root.PKI.Root) {
		t.Fatalf("GetCACert includeRoot = %d, %v", len(certs), err)
	}

	// An EC intermediate cannot decrypt: step-ca's words.
	ec := newEnv(t, nil, false)
	resp, body = get(t, ec.url+"?operation=GetCACert")
	if resp.StatusCode != 500 || !strings.Contains(string(body), `SCEP provisioner "scep" does not have a decrypter certificate`) {
		t.Fatalf("GetCACert without decrypter = %d %q", resp.StatusCode, body)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, true)
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/scep/nope?operation=GetCACaps", 404},
		{"/scep/admin?operation=GetCACaps", 400},
		{"/scep/scep", 400},
		{"/scep/scep?operation=Nope", 400},
		{"/scep/scep?operation=PKIOperation&message=%%%", 400},
		{"/scep/scep?operation=PKIOperation&message=AAAA", 400},
		{"/scep/scep?operation=PKIOperation&message=" + strings.Repeat("A", 100<<10), 400},
	} {
		base := strings.TrimSuffix(e.url, "/scep/scep")
		resp, body := get(t, base+tc.path)
		if resp.StatusCode != tc.status {
			t.Errorf("%s = %d %q, want %d", tc.path, resp.StatusCode, body, tc.status)
		}
	}
	resp, err := http.Post(e.url+"?operation=PKIOperation", "application/x-pki-message", bytes.NewReader(make([]byte, scepapi.MaxMessageSize+1)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("oversized POST = %d", resp.StatusCode)
	}
}

// client is a SCEP client's key and self-signed certificate.
type client struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func newClient(t testing.TB) client {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "device"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return client{key: key, cert: cert}
}

// request builds a PKCSReq for cn and dns with challenge, encrypted to rcpt.
func (c client) request(t testing.TB, rcpt *x509.Certificate, typ microscep.MessageType, challenge, cn string, dns ...string) []byte {
	t.Helper()
	der, err := x509util.CreateCertificateRequest(rand.Reader, &x509util.CertificateRequest{
		CertificateRequest: x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns},
		ChallengePassword:  challenge,
	}, c.key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := microscep.NewCSRRequest(csr, &microscep.PKIMessage{
		MessageType: typ, Recipients: []*x509.Certificate{rcpt}, SignerKey: c.key, SignerCert: c.cert,
	})
	if err != nil {
		t.Fatal(err)
	}
	return msg.Raw
}

func post(t *testing.T, u string, body []byte) []byte {
	t.Helper()
	resp, err := http.Post(u+"?operation=PKIOperation", "application/x-pki-message", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != scepapi.ContentTypePKI {
		t.Fatalf("PKIOperation = %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return b
}

func TestEnroll(t *testing.T) {
	t.Parallel()
	for alg := 0; alg <= 4; alg++ {
		e := newEnv(t, map[string]any{"encryptionAlgorithmIdentifier": alg}, true)
		c := newClient(t)
		for _, typ := range []microscep.MessageType{microscep.PKCSReq, microscep.RenewalReq} {
			rep := post(t, e.url, c.request(t, e.dec.cert, typ, "s3cret", "device.example.com", "device.example.com", "alt.example.com"))
			msg, err := parsePKIMessage(rep, microscep.WithCACerts([]*x509.Certificate{e.dec.cert}))
			if err != nil {
				t.Fatalf("alg %d: ParsePKIMessage: %v", alg, err)
			}
			if msg.PKIStatus != microscep.SUCCESS {
				t.Fatalf("alg %d: status %s failInfo %s", alg, msg.PKIStatus, msg.FailInfo)
			}
			var cert *x509.Certificate
			if alg >= scep.EncryptionAES128GCM {
				p7, err := parsePKCS7(rep)
				if err != nil {
					t.Fatal(err)
				}
				certs, err := microscep.CACerts(decryptEnvelope(t, p7.Content, c.key))
				if err != nil {
					t.Fatal(err)
				}
				cert = certs[0]
			} else {
				if err := decryptPKI(msg, c.cert, c.key); err != nil {
					t.Fatalf("alg %d: decrypt: %v", alg, err)
				}
				cert = msg.CertRepMessage.Certificate
			}
			if cert.Subject.CommonName != "device.example.com" || len(cert.DNSNames) != 2 {
				t.Fatalf("issued %v %v", cert.Subject, cert.DNSNames)
			}
			if err := cert.CheckSignatureFrom(e.PKI.Intermediate); err != nil {
				t.Fatal(err)
			}
			ext, ok := provisioner.FindExtension(cert)
			if !ok || ext.Type != provisioner.TypeSCEP || ext.Name != "scep" {
				t.Fatalf("provisioner extension = %+v %v", ext, ok)
			}
		}
	}
}

func TestEnrollGET(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, true)
	c := newClient(t)
	raw := c.request(t, e.dec.cert, microscep.PKCSReq, "s3cret", "get.example.com")
	resp, body := get(t, e.url+"?operation=PKIOperation&message="+url.QueryEscape(base64.StdEncoding.EncodeToString(raw)))
	if resp.StatusCode != 200 {
		t.Fatalf("GET PKIOperation = %d %q", resp.StatusCode, body)
	}
	msg, err := parsePKIMessage(body, microscep.WithCACerts([]*x509.Certificate{e.dec.cert}))
	if err != nil || msg.PKIStatus != microscep.SUCCESS {
		t.Fatalf("GET PKIOperation: %v %v", err, msg)
	}
	if err := decryptPKI(msg, c.cert, c.key); err != nil {
		t.Fatal(err)
	}
	// Without SANs the common name is the SAN, as step-ca.
	if got := msg.CertRepMessage.Certificate.DNSNames; len(got) != 1 || got[0] != "get.example.com" {
		t.Fatalf("SANs = %v", got)
	}
}

func TestEnrollRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]any{"minimumPublicKeyLength": 4096}, true)
	c := newClient(t)
	for name, challenge := range map[string]string{"wrong challenge": "nope", "short key": "s3cret", "no challenge": ""} {
		rep := post(t, e.url, c.request(t, e.dec.cert, microscep.PKCSReq, challenge, "device.example.com"))
		msg, err := parsePKIMessage(rep, microscep.WithCACerts([]*x509.Certificate{e.dec.cert}))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if msg.PKIStatus != microscep.FAILURE || msg.FailInfo != microscep.BadRequest {
			t.Fatalf("%s: status %s failInfo %s", name, msg.PKIStatus, msg.FailInfo)
		}
	}
}

// decryptEnvelope opens the enveloped data of a CertRep with key, as RFC
// 5652 and RFC 5084 define it (go.mozilla.org/pkcs7 reads GCM parameters in
// a form of its own, so AES-GCM is checked here).
func decryptEnvelope(t *testing.T, der []byte, key *rsa.PrivateKey) []byte {
	t.Helper()
	var ci struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		t.Fatal(err)
	}
	var env struct {
		Version        int
		RecipientInfos []struct {
			Version      int
			IAS          asn1.RawValue
			Alg          pkix.AlgorithmIdentifier
			EncryptedKey []byte
		} `asn1:"set"`
		ECI struct {
			ContentType asn1.ObjectIdentifier
			Alg         pkix.AlgorithmIdentifier
			Content     []byte `asn1:"tag:0"`
		}
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &env); err != nil {
		t.Fatal(err)
	}
	k, err := rsa.DecryptPKCS1v15(rand.Reader, key, env.RecipientInfos[0].EncryptedKey)
	if err != nil {
		t.Fatal(err)
	}
	var params struct {
		Nonce  []byte
		ICVLen int
	}
	if _, err := asn1.Unmarshal(env.ECI.Alg.Parameters.FullBytes, &params); err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(k)
	gcm, _ := cipher.NewGCMWithNonceSize(block, len(params.Nonce))
	out, err := gcm.Open(nil, params.Nonce, env.ECI.Content, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// With an RSA intermediate and no decrypter of its own, the provisioner
// decrypts and signs with the intermediate's key, as step-ca by default;
// GetCACert then answers the intermediate alone.
func TestRSAIntermediate(t *testing.T) {
	t.Parallel()
	rootKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	interKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := time.Now()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "RSA Root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	rootDER, _ := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	root, _ := x509.ParseCertificate(rootDER)
	interTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "RSA Intermediate"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	interDER, _ := x509.CreateCertificate(rand.Reader, interTmpl, root, &interKey.PublicKey, rootKey)
	inter, _ := x509.ParseCertificate(interDER)
	a, err := authority.New(authority.Options{
		Roots: []*x509.Certificate{root}, Intermediates: []*x509.Certificate{inter}, Signer: interKey,
		DNSNames: []string{"ca.example.com"}, Backdate: time.Minute, Store: memory.New(),
		Provisioners: []json.RawMessage{json.RawMessage(`{"type":"SCEP","name":"scep","challenge":"s3cret"}`)},
		Registry:     provisioner.Registry{provisioner.TypeSCEP: scep.New},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	scepapi.New(scepapi.Deps{Authority: func() *authority.Authority { return a }}).Mount(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	u := srv.URL + "/scep/scep"
	resp, body := get(t, u+"?operation=GetCACert")
	if resp.Header.Get("Content-Type") != scepapi.ContentTypeCACert || !bytes.Equal(body, inter.Raw) {
		t.Fatalf("GetCACert = %s", resp.Header.Get("Content-Type"))
	}
	c := newClient(t)
	rep := post(t, u, c.request(t, inter, microscep.PKCSReq, "s3cret", "rsa.example.com"))
	msg, err := parsePKIMessage(rep, microscep.WithCACerts([]*x509.Certificate{inter}))
	if err != nil || msg.PKIStatus != microscep.SUCCESS {
		t.Fatalf("PKIOperation: %v %+v", err, msg)
	}
	if err := decryptPKI(msg, c.cert, c.key); err != nil {
		t.Fatal(err)
	}
	if err := msg.CertRepMessage.Certificate.CheckSignatureFrom(inter); err != nil {
		t.Fatal(err)
	}
}

// Without a SCEP provisioner /scep is not routed: Go's plain 404.
func TestNoSCEPProvisioner(t *testing.T) {
	t.Parallel()
	e := authoritytest.New(t, authoritytest.Options{})
	r := chi.NewRouter()
	scepapi.New(scepapi.Deps{Authority: func() *authority.Authority { return e.Authority }}).Mount(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	resp, body := get(t, srv.URL+"/scep/admin?operation=GetCACaps")
	if resp.StatusCode != 404 || string(body) != "404 page not found\n" {
		t.Fatalf("/scep without SCEP = %d %q", resp.StatusCode, body)
	}
}

// parsePKIMessage, decryptPKI and parsePKCS7 parse the server's answers as
// the server parses requests (scepapi.Guard): go.mozilla.org/pkcs7 keeps a
// package-level counter while parsing, which the race detector would see
// shared with the server's goroutines.
func parsePKIMessage(der []byte, opts ...microscep.Option) (*microscep.PKIMessage, error) {
	var msg *microscep.PKIMessage
	err := scepapi.Guard(func() error {
		var err error
		msg, err = microscep.ParsePKIMessage(der, opts...)
		return err
	})
	return msg, err
}

func decryptPKI(msg *microscep.PKIMessage, cert *x509.Certificate, key *rsa.PrivateKey) error {
	return scepapi.Guard(func() error { return msg.DecryptPKIEnvelope(cert, key) })
}

func parsePKCS7(der []byte) (*pkcs7.PKCS7, error) {
	var p7 *pkcs7.PKCS7
	err := scepapi.Guard(func() error {
		var err error
		p7, err = pkcs7.Parse(der)
		return err
	})
	return p7, err
}

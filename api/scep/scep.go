// Package scep serves SCEP (RFC 8894) at /scep/{provisioner} for the SCEP
// provisioners (wire-spec §3: GET and POST, on the HTTPS and the insecure
// HTTP listener): GetCACaps, GetCACert and PKIOperation (PKCSReq and
// RenewalReq, answered with a CertRep). The certificate is issued by the
// authority with the provisioner's plan, like every other.
package scep

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	microscep "github.com/micromdm/scep/v2/scep"
	"github.com/sirupsen/logrus"
	"go.mozilla.org/pkcs7"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner/scep"
)

// MaxMessageSize bounds a PKIOperation message (a PKCS#7 signed envelope of
// a CSR and a self-signed certificate: a few kilobytes), checked before
// anything is parsed.
const MaxMessageSize = 64 << 10

// Content types of the answers (RFC 8894 §4).
const (
	ContentTypeCACert   = "application/x-x509-ca-cert"
	ContentTypeCARACert = "application/x-x509-ca-ra-cert"
	ContentTypePKI      = "application/x-pki-message"
)

// SCEP attribute OIDs (RFC 8894 §3.2.1).
var (
	oidMessageType    = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 2}
	oidPKIStatus      = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 3}
	oidFailInfo       = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 4}
	oidSenderNonce    = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 5}
	oidRecipientNonce = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 6}
	oidTransactionID  = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 7}
	oidFailInfoText   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 24, 1}
)

// Deps are the handler's collaborators.
type Deps struct {
	// Authority returns the current configuration snapshot.
	Authority func() *authority.Authority
	Logger    logrus.FieldLogger
}

// Handler serves /scep/{provisioner}[/*].
type Handler struct {
	deps Deps
}

// New returns the SCEP handler.
func New(d Deps) *Handler { return &Handler{deps: d} }

// Mount adds the SCEP routes to r: GET and POST /scep/{name} and
// /scep/{name}/*.
func (h *Handler) Mount(r chi.Router) {
	for _, p := range []string{"/scep/{provisionerName}", "/scep/{provisionerName}/*"} {
		r.Get(p, h.ServeHTTP)
		r.Post(p, h.ServeHTTP)
	}
}

// ServeHTTP implements http.Handler; the provisioner name is the path
// segment after /scep/.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name := chi.URLParam(r, "provisionerName")
	rec := &recorder{ResponseWriter: w}
	fields := logrus.Fields{}
	err := h.serve(rec, r, h.deps.Authority(), name, fields)
	if err != nil {
		rec.status = render.Status(err)
		http.Error(rec, render.Message(err, rec.status), rec.status)
	}
	h.log(r, rec, start, name, fields, err)
}

// log writes the request's one access-log line, with the fields of the
// API's: never the message, CSR or challenge; the transaction ID, serial
// and subject instead. A refused enrollment (a FAILURE CertRep, HTTP 200)
// is a warning with its reason.
func (h *Handler) log(r *http.Request, rec *recorder, start time.Time, name string, f logrus.Fields, err error) {
	if h.deps.Logger == nil {
		return
	}
	d := time.Since(start)
	f["request-id"] = rec.Header().Get("X-Request-Id")
	f["method"] = r.Method
	f["path"] = r.URL.Path
	f["protocol"] = r.Proto
	f["status"] = rec.status
	f["size"] = rec.size
	f["duration"] = d.String()
	f["duration-ns"] = d.Nanoseconds()
	f["remote-address"] = r.RemoteAddr
	f["user-agent"] = r.UserAgent()
	f["provisioner"] = name
	entry := h.deps.Logger.WithFields(f)
	refused, _ := f["scep-error"].(string)
	switch {
	case err != nil && rec.status >= 500:
		entry.WithError(err).Error("")
	case err != nil:
		entry.WithError(err).Warn("")
	case refused != "":
		entry.Warn("")
	default:
		entry.Info("")
	}
}

// recorder remembers the status and size written.
type recorder struct {
	http.ResponseWriter
	status, size int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.size += n
	return n, err
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, a *authority.Authority, name string, fields logrus.Fields) error {
	if !hasSCEP(a) {
		// step-ca mounts /scep only with a SCEP provisioner (wire-spec §3.1).
		http.NotFound(w, r)
		return nil
	}
	p, ok := a.Provisioners().ByName(name)
	if !ok {
		return errs.Errorf(errs.NotFound, "provisioner %q not found", name)
	}
	prov, ok := p.(*scep.Provisioner)
	if !ok {
		return errs.Exact(errs.BadRequest, "provisioner must be of type SCEP", nil)
	}
	op := r.URL.Query().Get("operation")
	switch {
	case r.Method == http.MethodGet && op == "GetCACaps":
		w.Header().Set("Content-Type", "text/plain")
		_, err := io.WriteString(w, strings.Join(prov.Capabilities(), "\r\n"))
		return err
	case r.Method == http.MethodGet && op == "GetCACert":
		return h.getCACert(w, a, prov)
	case op == "PKIOperation":
		msg, err := readMessage(w, r)
		if err != nil {
			return err
		}
		return h.pkiOperation(r.Context(), w, a, prov, msg, fields)
	case op == "":
		return errs.Exact(errs.BadRequest, "missing operation", nil)
	default:
		return errs.Exact(errs.BadRequest, fmt.Sprintf("unsupported operation: %s", op), nil)
	}
}

// readMessage returns a PKIOperation's message: the body of a POST, the
// base64 message parameter of a GET; at most MaxMessageSize bytes.
func readMessage(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Method == http.MethodPost {
		if r.ContentLength > MaxMessageSize {
			return nil, errs.Exact(errs.BadRequest, "message too large", nil)
		}
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxMessageSize))
		if err != nil {
			return nil, errs.E(errs.BadRequest, "error reading request body", err)
		}
		return b, nil
	}
	m := r.URL.Query().Get("message")
	if len(m) > base64.StdEncoding.EncodedLen(MaxMessageSize)+4 {
		return nil, errs.Exact(errs.BadRequest, "message too large", nil)
	}
	// A '+' that was not escaped arrives as a space.
	m = strings.ReplaceAll(m, " ", "+")
	b, err := base64.StdEncoding.DecodeString(m)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(m, "=")); err != nil {
			return nil, errs.E(errs.BadRequest, "error decoding message", err)
		}
	}
	return b, nil
}

// caCerts are the certificates GetCACert answers: the decrypter when the
// provisioner has its own, the intermediate (unless excludeIntermediate;
// always when it is the decrypter), the root with includeRoot.
func caCerts(a *authority.Authority, prov *scep.Provisioner) ([]*x509.Certificate, error) {
	iss := a.Issuer()
	dec, _, err := prov.Decrypter(iss.Certificate(), iss.Signer())
	if err != nil {
		return nil, errs.Exact(errs.Internal, err.Error(), err)
	}
	certs := []*x509.Certificate{dec}
	if !prov.ExcludeIntermediate() && !dec.Equal(iss.Certificate()) {
		certs = append(certs, iss.Certificate())
	}
	if prov.IncludeRoot() {
		certs = append(certs, a.Roots()...)
	}
	return certs, nil
}

func (h *Handler) getCACert(w http.ResponseWriter, a *authority.Authority, prov *scep.Provisioner) error {
	certs, err := caCerts(a, prov)
	if err != nil {
		return err
	}
	if len(certs) == 1 {
		w.Header().Set("Content-Type", ContentTypeCACert)
		_, err := w.Write(certs[0].Raw)
		return err
	}
	var buf bytes.Buffer
	for _, c := range certs {
		buf.Write(c.Raw)
	}
	deg, err := pkcs7.DegenerateCertificate(buf.Bytes())
	if err != nil {
		return errs.E(errs.Internal, "error encoding CA certificates", err)
	}
	w.Header().Set("Content-Type", ContentTypeCARACert)
	_, err = w.Write(deg)
	return err
}

// request is a parsed, decrypted enrollment.
type request struct {
	msg        *microscep.PKIMessage
	recipients []*x509.Certificate // the client's certificates: the CertRep's recipients
}

// parseRequest verifies and decrypts a PKIOperation message.
func parseRequest(der []byte) (*request, error) {
	if len(der) == 0 {
		return nil, errs.Exact(errs.BadRequest, "missing message", nil)
	}
	if len(der) > MaxMessageSize {
		return nil, errs.Exact(errs.BadRequest, "message too large", nil)
	}
	var p7 *pkcs7.PKCS7
	var msg *microscep.PKIMessage
	err := guard(func() error {
		var err error
		if p7, err = pkcs7.Parse(der); err != nil {
			return err
		}
		msg, err = microscep.ParsePKIMessage(der)
		return err
	})
	if err != nil {
		return nil, errs.E(errs.BadRequest, "error parsing PKIMessage", err)
	}
	switch msg.MessageType {
	case microscep.PKCSReq, microscep.RenewalReq, microscep.UpdateReq:
	default:
		return nil, errs.Exact(errs.BadRequest, fmt.Sprintf("unsupported message type: %s", msg.MessageType), nil)
	}
	return &request{msg: msg, recipients: p7.Certificates}, nil
}

func (h *Handler) pkiOperation(ctx context.Context, w http.ResponseWriter, a *authority.Authority, prov *scep.Provisioner, der []byte, fields logrus.Fields) error {
	iss := a.Issuer()
	decCert, decKey, err := prov.Decrypter(iss.Certificate(), iss.Signer())
	if err != nil {
		return errs.Exact(errs.Internal, err.Error(), err)
	}
	req, err := parseRequest(der)
	if err != nil {
		return err
	}
	if err := guard(func() error { return req.msg.DecryptPKIEnvelope(decCert, decKey) }); err != nil {
		return errs.E(errs.BadRequest, "error decrypting PKIMessage", err)
	}
	fields["transaction-id"] = string(req.msg.TransactionID)
	fields["message-type"] = req.msg.MessageType.String()
	csr := req.msg.CSRReqMessage.CSR
	reply := func(b []byte) error {
		w.Header().Set("Content-Type", ContentTypePKI)
		_, err := w.Write(b)
		return err
	}
	fail := func(cause error) error {
		text := "failed"
		if e := errs.As(cause); e != nil && e.Detail != "" {
			text = e.Detail
		}
		fields["scep-status"] = "FAILURE"
		fields["scep-error"] = cause.Error()
		b, err := certRep(req, decCert, decKey, nil, microscep.BadRequest, text, prov.EncryptionAlgorithm())
		if err != nil {
			return errs.E(errs.Internal, "error creating CertRep", err)
		}
		return reply(b)
	}
	if err := csr.CheckSignature(); err != nil {
		return fail(errs.E(errs.BadRequest, "invalid csr", err))
	}
	plan, err := prov.AuthorizeSCEP(ctx, csr, req.msg.CSRReqMessage.ChallengePassword, string(req.msg.TransactionID))
	if err != nil {
		return fail(err)
	}
	issued, err := a.SignWithPlan(ctx, csr, plan)
	if err != nil {
		if errs.KindOf(err) == errs.Internal {
			return err
		}
		return fail(err)
	}
	cert, err := x509.ParseCertificate(issued.DER)
	if err != nil {
		return errs.E(errs.Internal, "error parsing issued certificate", err)
	}
	fields["scep-status"] = "SUCCESS"
	fields["serial"] = issued.Serial()
	fields["subject"] = cert.Subject.CommonName
	b, err := certRep(req, decCert, decKey, cert, "", "", prov.EncryptionAlgorithm())
	if err != nil {
		return errs.E(errs.Internal, "error creating CertRep", err)
	}
	return reply(b)
}

// certRep builds a CertRep for req (RFC 8894 §3.3.2), signed by the
// decrypter: SUCCESS with cert in a degenerate PKCS#7 encrypted to the
// client, or FAILURE with failInfo and failInfoText.
func certRep(req *request, signCert *x509.Certificate, signKey *rsa.PrivateKey, cert *x509.Certificate, failInfo microscep.FailInfo, failText string, alg int) ([]byte, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	attrs := []pkcs7.Attribute{
		{Type: oidTransactionID, Value: req.msg.TransactionID},
		{Type: oidMessageType, Value: microscep.CertRep},
		{Type: oidSenderNonce, Value: microscep.SenderNonce(nonce)},
		{Type: oidRecipientNonce, Value: req.msg.SenderNonce},
	}
	var content []byte
	if cert != nil {
		deg, err := pkcs7.DegenerateCertificate(cert.Raw)
		if err != nil {
			return nil, err
		}
		if content, err = encrypt(deg, req.recipients, alg); err != nil {
			return nil, err
		}
		attrs = append(attrs, pkcs7.Attribute{Type: oidPKIStatus, Value: microscep.SUCCESS})
	} else {
		attrs = append(attrs,
			pkcs7.Attribute{Type: oidPKIStatus, Value: microscep.FAILURE},
			pkcs7.Attribute{Type: oidFailInfo, Value: failInfo},
		)
		if failText != "" {
			attrs = append(attrs, pkcs7.Attribute{Type: oidFailInfoText, Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(failText)}})
		}
	}
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		return nil, err
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if cert != nil {
		// The issued certificate first: clients expect it there.
		sd.AddCertificate(cert)
	}
	if err := sd.AddSigner(signCert, signKey, pkcs7.SignerInfoConfig{ExtraSignedAttributes: attrs}); err != nil {
		return nil, err
	}
	return sd.Finish()
}

// berMu serializes go.mozilla.org/pkcs7's parsing: its BER-to-DER
// conversion counts nesting in a package-level variable (ber.go's
// encodeIndent), which concurrent parses race on (go test -race).
var berMu sync.Mutex

// guard runs a parse of network input by go.mozilla.org/pkcs7, whose BER
// reader panics on some malformed input (found by FuzzParseRequest), and
// turns a panic into an error: the request fails, the CA goes on. Parses
// run one at a time (berMu).
func guard(parse func() error) (err error) {
	berMu.Lock()
	defer berMu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed PKCS#7 message: %v", r)
		}
	}()
	return parse()
}

// hasSCEP says whether a has a SCEP provisioner.
func hasSCEP(a *authority.Authority) bool {
	for _, p := range a.Provisioners().All() {
		if _, ok := p.(*scep.Provisioner); ok {
			return true
		}
	}
	return false
}

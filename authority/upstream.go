package authority

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mayfly-pki/mayfly/authority/cas/stepcas"
	"github.com/mayfly-pki/mayfly/authority/issuer"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/meter"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
)

// Upstream is the CA that signs for this one when it is a registration
// authority (authority.type "stepcas", docs/ra.md). This CA authorises every
// request with its own provisioners first; the upstream only signs.
// Implementations are safe for concurrent use, honour ctx, and return
// errs errors whose message names the upstream (errs.Unavailable when it
// cannot be reached). *stepcas.CAS implements it.
type Upstream interface {
	// URL names the upstream in messages.
	URL() string
	// Sign has csr signed with tmpl's subject, SANs and validity; it returns
	// the leaf and its chain.
	Sign(ctx context.Context, csr *x509.CertificateRequest, tmpl *x509.Certificate, ra *stepcas.RAInfo) (*x509.Certificate, []*x509.Certificate, error)
	// Renew forwards a client's renew token.
	Renew(ctx context.Context, renewToken string) (*x509.Certificate, []*x509.Certificate, error)
	// Revoke revokes a serial (decimal) upstream.
	Revoke(ctx context.Context, serial string, reasonCode int, reason string) error
	// Health is nil when the upstream answers.
	Health(ctx context.Context) error
}

var _ Upstream = (*stepcas.CAS)(nil)

// upstreamHealthTimeout bounds /health's question to the upstream.
const upstreamHealthTimeout = 5 * time.Second

// Upstream returns the CA that signs for this registration authority, or nil
// when this CA signs itself.
func (a *Authority) Upstream() Upstream { return a.upstream }

// upstreamHealth is nil unless the upstream does not answer.
func (a *Authority) upstreamHealth() error {
	if a.upstream == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), upstreamHealthTimeout)
	defer cancel()
	return a.upstream.Health(ctx)
}

func raInfo(info provisioner.Info) *stepcas.RAInfo {
	return &stepcas.RAInfo{ProvisionerID: info.ID, ProvisionerType: info.Type.String(), ProvisionerName: info.Name}
}

// issueUpstream has an authorised template signed upstream and stores the
// record locally, naming this CA's provisioner (x509_certs, as softcas).
func (a *Authority) issueUpstream(ctx context.Context, csr *x509.CertificateRequest, tmpl *x509.Certificate, info provisioner.Info) (*Issued, error) {
	leaf, _, err := a.upstream.Sign(ctx, csr, tmpl, raInfo(info))
	if err != nil {
		return nil, err
	}
	return a.storeUpstream(ctx, leaf, info)
}

func (a *Authority) storeUpstream(ctx context.Context, leaf *x509.Certificate, info provisioner.Info) (*Issued, error) {
	rec := &store.Certificate{
		Serial: leaf.SerialNumber.String(), DER: leaf.Raw, Data: certData(info),
		NotAfter: leaf.NotAfter, Subject: leaf.Subject.CommonName, Provisioner: info.Name,
	}
	if err := a.store.StoreCertificate(ctx, rec); err != nil {
		return nil, storeError("error storing certificate", err)
	}
	return &Issued{DER: leaf.Raw, Template: leaf, Provisioner: info}, nil
}

// RenewForward renews cert through the upstream (registration authority):
// renewToken, the client's x5cInsecure token, is forwarded as it came, since
// only the certificate's key proves possession upstream. A renewal over
// mTLS (renewToken "") cannot be forwarded and is refused with a message
// saying so, as step-ca's RA does.
func (a *Authority) RenewForward(ctx context.Context, cert *x509.Certificate, renewToken string) (*Issued, error) {
	iss, err := a.renewUpstream(ctx, cert, nil, renewToken)
	a.renewDecided(ctx, meter.OpRenew, cert, iss, err)
	return iss, err
}

// renewUpstream is renew for a registration authority: this CA's provisioner
// (found from the local record, as the certificate's provisioner extension
// names the upstream's) authorises it, then the upstream signs: a rekey with
// the new CSR and a sign token, a renewal with the client's renew token.
func (a *Authority) renewUpstream(ctx context.Context, cert *x509.Certificate, csr *x509.CertificateRequest, renewToken string) (*Issued, error) {
	serial := cert.SerialNumber.String()
	if err := a.checkNotRevoked(ctx, serial); err != nil {
		return nil, err
	}
	p, err := a.localProvisioner(ctx, serial)
	if err != nil {
		return nil, err
	}
	if err := p.AuthorizeRenew(ctx, cert); err != nil {
		return nil, err
	}
	pub, keyOf, op := cert.PublicKey, "certificate", "renew"
	if csr != nil {
		pub, keyOf, op = csr.PublicKey, "certificate request", "rekey"
	}
	if err := validate.Key(pub, keyOf); err != nil {
		return nil, err
	}
	if err := a.checkPolicy(op, p.Info().Name, cert); err != nil {
		return nil, err
	}
	var leaf *x509.Certificate
	switch {
	case csr != nil:
		notBefore, notAfter, err := a.renewValidity(a.now(), cert, p.Claims())
		if err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{
			Subject: cert.Subject, DNSNames: cert.DNSNames, IPAddresses: cert.IPAddresses,
			EmailAddresses: cert.EmailAddresses, URIs: cert.URIs, NotBefore: notBefore, NotAfter: notAfter,
		}
		defer a.expectWrite()()
		leaf, _, err = a.upstream.Sign(ctx, csr, tmpl, raInfo(p.Info()))
		if err != nil {
			return nil, err
		}
	case renewToken != "":
		defer a.expectWrite()()
		if leaf, _, err = a.upstream.Renew(ctx, renewToken); err != nil {
			return nil, err
		}
	default:
		return nil, errs.Exact(errs.NotImplemented, fmt.Sprintf(
			"this CA is a registration authority: a renewal over mTLS cannot be forwarded to the upstream CA %s; renew with a token (step ca renew --mtls=false)",
			a.upstream.URL()), nil)
	}
	return a.storeUpstream(ctx, leaf, p.Info())
}

// localProvisioner returns this CA's provisioner that authorised the
// certificate with serial, from its local record.
func (a *Authority) localProvisioner(ctx context.Context, serial string) (provisioner.Interface, error) {
	rec, err := a.store.GetCertificate(ctx, serial)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errs.Errorf(errs.Unauthorized, "authority.Renew: certificate %s was not issued through this registration authority", serial)
	case err != nil:
		return nil, storeError("error reading certificate", err)
	}
	name := rec.Provisioner
	if name == "" {
		var d struct {
			Provisioner struct{ Name string } `json:"provisioner"`
		}
		_ = json.Unmarshal(rec.Data, &d)
		name = d.Provisioner.Name
	}
	p, ok := a.provisioners.ByName(name)
	if !ok {
		return nil, errs.Errorf(errs.Unauthorized, "authority.Renew: provisioner %q not found", name)
	}
	return p, nil
}

// newIssuer is the local issuer, or for a registration authority the
// upstream's chain without a key.
func newIssuer(o Options) (*issuer.Issuer, error) {
	if o.Upstream == nil {
		return issuer.New(o.Intermediates, o.Signer)
	}
	switch {
	case o.CRL != nil:
		return nil, errors.New("crl: a registration authority (authority.type stepcas) has no key to sign a CRL; the upstream CA publishes it")
	case o.OCSP != nil:
		return nil, errors.New("ocsp: a registration authority (authority.type stepcas) has no key to sign OCSP answers")
	case o.Lint != nil && o.Lint.Enabled:
		return nil, errors.New("authority.lint: not available in a registration authority (authority.type stepcas): the upstream CA signs")
	}
	return issuer.NewRemote(o.Intermediates)
}

// maxRAInfoSize bounds the step.ra claim kept in a certificate's record.
const maxRAInfoSize = 4 << 10

// certDataRA is certData with the "ra" member step-ca records for a
// certificate a registration authority asked for (nil ra: certData's
// default, nil).
func certDataRA(info provisioner.Info, ra json.RawMessage) []byte {
	if ra == nil || !json.Valid(ra) {
		return nil
	}
	b, _ := json.Marshal(map[string]any{
		"provisioner": map[string]string{"id": info.ID, "name": info.Name, "type": info.Type.String()},
		"ra":          ra,
	})
	return b
}

// issuedThroughRA reports whether the record of cert says a registration
// authority asked for it: a renew token it forwards names the RA, not this
// CA, in its audience, and step-ca accepts it then.
func (a *Authority) issuedThroughRA(ctx context.Context, cert *x509.Certificate) bool {
	rec, err := a.store.GetCertificate(ctx, cert.SerialNumber.String())
	if err != nil || !bytes.Equal(rec.DER, cert.Raw) {
		return false
	}
	var d struct {
		RA json.RawMessage `json:"ra"`
	}
	return json.Unmarshal(rec.Data, &d) == nil && len(d.RA) > 0 && string(d.RA) != "null"
}

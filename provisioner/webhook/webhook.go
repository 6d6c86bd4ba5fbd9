// Package webhook implements step-ca's provisioner webhooks
// (options.webhooks, wire-spec §7.4) for every provisioner type: ENRICHING
// webhooks add template data under .Webhooks.<name> before the template is
// rendered, AUTHORIZING webhooks allow or deny a certificate before it is
// signed. A provisioner parses its webhooks once with Parse and adds them to
// each X.509 plan with Set.X509.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/templates"
)

// Kinds and certificate types of a webhook, as step-ca (linkedca) names
// them.
const (
	KindEnriching     = "ENRICHING"
	KindAuthorizing   = "AUTHORIZING"
	KindSCEPChallenge = "SCEPCHALLENGE"
	KindNotifying     = "NOTIFYING"

	CertTypeAll  = "ALL"
	CertTypeX509 = "X509"
	CertTypeSSH  = "SSH"
)

// DataKey is the template data key webhook data is set under:
// .Webhooks.<name>.
const DataKey = "Webhooks"

// DefaultTimeout bounds one webhook call, as step-ca's 10 seconds.
const DefaultTimeout = 10 * time.Second

// retryDelay is step-ca's wait before its one retry of a call that failed
// to connect or got a 5xx answer.
const retryDelay = time.Second

// DeniedMessage is step-ca's message when a webhook answers allow: false.
const DeniedMessage = "webhook server did not allow request"

// Config is one entry of options.webhooks. step-ca reads id, name, url,
// kind, certType and disableTLSClientAuth from ca.json and keeps the
// secret and credentials in its admin database; Mayfly, which has no admin
// database for them, also reads secret, bearerToken and basicAuth here.
type Config struct {
	ID                   string     `json:"id"`
	Name                 string     `json:"name"`
	URL                  string     `json:"url"`
	Kind                 string     `json:"kind"`
	DisableTLSClientAuth bool       `json:"disableTLSClientAuth,omitempty"`
	CertType             string     `json:"certType,omitempty"`
	Secret               string     `json:"secret,omitempty"`
	BearerToken          string     `json:"bearerToken,omitempty"`
	BasicAuth            *BasicAuth `json:"basicAuth,omitempty"`
}

// BasicAuth is a webhook's HTTP basic authentication.
type BasicAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// hook is one parsed webhook. Immutable.
type hook struct {
	id, name, kind, certType string
	rawURL                   string
	url                      *template.Template // nil: rawURL as is
	secret                   []byte
	bearer                   string
	basic                    *BasicAuth
}

// Set is a provisioner's parsed webhooks. Immutable and safe for concurrent
// use; a nil *Set has no webhooks.
type Set struct {
	hooks   []*hook
	client  *http.Client
	now     func() time.Time
	timeout time.Duration
}

// Option changes how a Set calls its webhooks.
type Option func(*Set)

// WithTimeout bounds each call (DefaultTimeout otherwise).
func WithTimeout(d time.Duration) Option { return func(s *Set) { s.timeout = d } }

// Parse reads options.webhooks from a provisioner entry's raw "options"
// member, once per configuration. It returns nil, nil when there are none.
// Calls use cfg.HTTPClient (http.DefaultClient's transport with
// DefaultTimeout when nil) and cfg.Now for the request timestamp. Errors are
// *provisioner.OptionError.
func Parse(options json.RawMessage, cfg provisioner.Config, opts ...Option) (*Set, error) {
	if isNull(options) {
		return nil, nil
	}
	var o struct {
		Webhooks json.RawMessage `json:"webhooks"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, &provisioner.OptionError{Path: "options", Err: errors.New("must be a JSON object")}
	}
	if isNull(o.Webhooks) {
		return nil, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(o.Webhooks, &list); err != nil {
		return nil, &provisioner.OptionError{Path: "options.webhooks", Err: errors.New("must be a JSON array")}
	}
	s := &Set{client: newClient(cfg), now: cfg.Clock(), timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(s)
	}
	names := map[string]bool{}
	for i, raw := range list {
		path := fmt.Sprintf("options.webhooks[%d]", i)
		var c Config
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, &provisioner.OptionError{Path: path, Err: jsonError(err)}
		}
		h, err := newHook(&c)
		if err != nil {
			var oe *provisioner.OptionError
			if errors.As(err, &oe) {
				oe.Path = path + "." + oe.Path
				return nil, oe
			}
			return nil, &provisioner.OptionError{Path: path, Err: err}
		}
		if names[h.name] {
			return nil, &provisioner.OptionError{Path: path + ".name", Err: fmt.Errorf("duplicate webhook name %q", h.name)}
		}
		names[h.name] = true
		s.hooks = append(s.hooks, h)
	}
	if len(s.hooks) == 0 {
		return nil, nil
	}
	return s, nil
}

// newClient is cfg.HTTPClient trusting cfg.Roots besides the system's
// roots, as step-ca's webhook client: a webhook server may use a
// certificate from the CA itself.
func newClient(cfg provisioner.Config) *http.Client {
	c := cfg.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: DefaultTimeout}
	}
	if len(cfg.Roots) == 0 {
		return c
	}
	var tr *http.Transport
	switch t := c.Transport.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		if t.TLSClientConfig != nil && t.TLSClientConfig.RootCAs != nil {
			return c // trust chosen by the caller (tests)
		}
		tr = t.Clone()
	default:
		return c
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for _, r := range cfg.Roots {
		pool.AddCert(r)
	}
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tr.TLSClientConfig.RootCAs = pool
	out := *c
	out.Transport = tr
	return &out
}

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Errorf("%s must be a JSON %s", te.Field, jsonTypeName(te.Type.Kind().String()))
	}
	return errors.New("must be a JSON object")
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "ptr", "struct", "map":
		return "object"
	}
	return kind
}

func newHook(c *Config) (*hook, error) {
	if c.Name == "" {
		return nil, &provisioner.OptionError{Path: "name", Err: errors.New("cannot be empty")}
	}
	h := &hook{id: c.ID, name: c.Name, kind: strings.ToUpper(c.Kind), certType: strings.ToUpper(c.CertType),
		rawURL: c.URL, bearer: c.BearerToken, basic: c.BasicAuth}
	switch h.kind {
	case KindEnriching, KindAuthorizing, KindSCEPChallenge, KindNotifying:
	case "":
		return nil, &provisioner.OptionError{Path: "kind", Err: errors.New("cannot be empty (ENRICHING or AUTHORIZING)")}
	default:
		return nil, &provisioner.OptionError{Path: "kind", Err: fmt.Errorf("unsupported kind %q (ENRICHING or AUTHORIZING)", c.Kind)}
	}
	switch h.certType {
	case "", CertTypeAll, CertTypeX509, CertTypeSSH:
	default:
		return nil, &provisioner.OptionError{Path: "certType", Err: fmt.Errorf("unsupported certType %q (X509, SSH or ALL)", c.CertType)}
	}
	if c.URL == "" {
		return nil, &provisioner.OptionError{Path: "url", Err: errors.New("cannot be empty")}
	}
	if strings.Contains(c.URL, "{{") {
		t, err := template.New(c.Name).Funcs(templates.FuncMap()).Parse(c.URL)
		if err != nil {
			return nil, &provisioner.OptionError{Path: "url", Err: fmt.Errorf("invalid url template: %w", err)}
		}
		h.url = t
	} else if err := checkURL(c.URL); err != nil {
		return nil, &provisioner.OptionError{Path: "url", Err: err}
	}
	secret, err := base64.StdEncoding.DecodeString(c.Secret)
	if err != nil {
		return nil, &provisioner.OptionError{Path: "secret", Err: errors.New("must be standard base64")}
	}
	h.secret = secret
	return h, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("invalid url")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("url scheme must be https or http, not %q", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("url has no host")
	}
	return nil
}

// Request is what a provisioner knows of one request that its webhooks
// are told, besides the CSR and certificate.
type Request struct {
	ProvisionerName string
	// AuthorizationPrincipal is the identity the credential authenticated
	// (an x5c leaf's common name, an OIDC email); empty for JWK.
	AuthorizationPrincipal string
	// X5CCertificate is the x5c leaf of an X5C token.
	X5CCertificate *x509.Certificate
	// Subject, SANs and Token are the request's identity: a URL template
	// sees them as .Subject, .SANs and .Token (as a certificate template
	// does) even when the provisioner has no certificate template.
	Subject string
	SANs    []string
	Token   *token.Token
}

// X509 returns the webhooks of s that apply to one X.509 request (kinds
// ENRICHING and AUTHORIZING with certType X509 or ALL), for a plan's
// Webhooks; nil when there are none.
func (s *Set) X509(req Request) []provisioner.Webhook {
	if s == nil {
		return nil
	}
	st := &requestState{set: s, req: req}
	var out []provisioner.Webhook
	for _, h := range s.hooks {
		if h.kind != KindEnriching && h.kind != KindAuthorizing {
			continue
		}
		if h.certType == CertTypeSSH {
			continue
		}
		out = append(out, &call{hook: h, st: st})
	}
	return out
}

// requestState is shared by the webhooks of one request: the template data
// the URL templates are rendered with, which the authority passes to every
// Enrich before any Authorize.
type requestState struct {
	set  *Set
	req  Request
	data map[string]any
}

// call is one webhook for one request.
type call struct {
	hook *hook
	st   *requestState
}

var _ provisioner.Webhook = (*call)(nil)

// Name returns the webhook's name.
func (c *call) Name() string { return c.hook.name }

// Enrich implements provisioner.Webhook: an ENRICHING webhook is sent the
// certificate request; it must allow it, and its data is set at
// .Webhooks.<name>.
func (c *call) Enrich(ctx context.Context, csr *x509.CertificateRequest, data map[string]any) error {
	if c.st.data == nil {
		c.st.data = data
	}
	if c.hook.kind != KindEnriching {
		return nil
	}
	body := c.st.body()
	cr, err := newCertificateRequest(csr)
	if err != nil {
		return errs.E(errs.BadRequest, "invalid csr", err)
	}
	body.X509CertificateRequest = cr
	resp, err := c.do(ctx, body)
	if err != nil {
		return err
	}
	if !resp.Allow {
		return errs.Exact(errs.Forbidden, DeniedMessage, fmt.Errorf("webhook %q denied the request", c.hook.name))
	}
	whs, _ := data[DataKey].(map[string]any)
	if whs == nil {
		whs = map[string]any{}
		data[DataKey] = whs
	}
	whs[c.hook.name] = resp.Data
	return nil
}

// Authorize implements provisioner.Webhook: an AUTHORIZING webhook is sent
// the certificate about to be signed and must allow it.
func (c *call) Authorize(ctx context.Context, cert *x509.Certificate) error {
	if c.hook.kind != KindAuthorizing {
		return nil
	}
	body := c.st.body()
	crt, err := newCertificate(cert)
	if err != nil {
		return errs.E(errs.Internal, "webhook: certificate", err)
	}
	body.X509Certificate = crt
	resp, err := c.do(ctx, body)
	if err != nil {
		return err
	}
	if !resp.Allow {
		return errs.Exact(errs.Forbidden, DeniedMessage, fmt.Errorf("webhook %q denied the request", c.hook.name))
	}
	return nil
}

func (st *requestState) body() *RequestBody {
	b := &RequestBody{
		Timestamp:              st.set.now().UTC(),
		ProvisionerName:        st.req.ProvisionerName,
		AuthorizationPrincipal: st.req.AuthorizationPrincipal,
	}
	if leaf := st.req.X5CCertificate; leaf != nil {
		b.X5CCertificate = &X5CCertificate{
			Raw: leaf.Raw, PublicKeyAlgorithm: leaf.PublicKeyAlgorithm.String(),
			NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter,
		}
		if key, err := x509.MarshalPKIXPublicKey(leaf.PublicKey); err == nil {
			b.X5CCertificate.PublicKey = key
		}
	}
	return b
}

// failure is the error of a webhook that could not be called or answered
// badly: issuance is refused (403, as step-ca), naming the webhook.
func (c *call) failure(reason string, cause error) error {
	return errs.Exact(errs.Forbidden, fmt.Sprintf("webhook %q failed: %s", c.hook.name, reason), cause)
}

// expired is the failure of a call whose context ended: the webhook's
// timeout, or the client's request that went away.
func (c *call) expired(ctx context.Context, cause error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return c.failure(fmt.Sprintf("no answer within %s", c.st.set.timeout), cause)
	}
	return c.failure("request canceled", cause)
}

// url renders the webhook's URL, a template of the request's template data
// as in step-ca.
func (c *call) url() (string, error) {
	if c.hook.url == nil {
		return c.hook.rawURL, nil
	}
	var buf bytes.Buffer
	data := c.st.data
	if _, ok := data[templates.SubjectKey]; !ok {
		// No certificate template: the authority's data is empty; build
		// what step-ca's template data would hold.
		req := c.st.req
		d := templates.NewX509Data(req.Subject, req.SANs)
		d.SetToken(provisioner.TokenPayload(req.Token))
		for k, v := range data {
			d[k] = v
		}
		data = d
	}
	if err := c.hook.url.Execute(&buf, data); err != nil {
		return "", err
	}
	u := buf.String()
	if err := checkURL(u); err != nil {
		return "", err
	}
	return u, nil
}

// do posts body to the webhook, signed, within the Set's timeout, retrying
// once as step-ca does after a connection failure or a 5xx answer.
func (c *call) do(ctx context.Context, body *RequestBody) (*ResponseBody, error) {
	h, s := c.hook, c.st.set
	target, err := c.url()
	if err != nil {
		return nil, c.failure("invalid url", err)
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, errs.E(errs.Internal, "webhook: request body", err)
	}
	mac := hmac.New(sha256.New, h.secret)
	mac.Write(payload)
	sig := hex.EncodeToString(mac.Sum(nil))

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	for retries := 1; ; retries-- {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
		if err != nil {
			return nil, c.failure("invalid url", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Smallstep-Signature", sig)
		req.Header.Set("X-Smallstep-Webhook-ID", h.id)
		if h.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+h.bearer)
		} else if h.basic != nil && (h.basic.Username != "" || h.basic.Password != "") {
			req.SetBasicAuth(h.basic.Username, h.basic.Password)
		}
		resp, err := s.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, c.expired(ctx, err)
			}
			if retries > 0 && wait(ctx, retryDelay) {
				continue
			}
			if ctx.Err() != nil {
				return nil, c.expired(ctx, err)
			}
			return nil, c.failure("request failed", err)
		}
		if resp.StatusCode >= 500 && retries > 0 {
			drain(resp)
			if wait(ctx, retryDelay) {
				continue
			}
			return nil, c.expired(ctx, ctx.Err())
		}
		if resp.StatusCode >= 400 {
			drain(resp)
			return nil, c.failure(fmt.Sprintf("webhook server responded with %d", resp.StatusCode), nil)
		}
		rb, err := readResponse(resp.Body)
		resp.Body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return nil, c.expired(ctx, err)
			}
			return nil, c.failure("invalid response", err)
		}
		return rb, nil
	}
}

func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

func isNull(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) == 0 || string(b) == "null"
}

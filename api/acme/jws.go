package acme

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority/acme"
)

// Algorithms are the JWS algorithms accepted (RFC 8555 §6.2).
var Algorithms = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.RS256, jose.EdDSA}

// signed is a verified JWS request.
type signed struct {
	payload []byte
	jwk     *jose.JSONWebKey // the key that signed (embedded jwk, or the account's)
	account *acme.Account    // nil when signed with an embedded jwk
	empty   bool             // POST-as-GET
}

// parseJWS parses body as a flattened JWS and checks its protected header:
// exactly one signature, an allowed algorithm, the url of this request, a
// nonce (consumed here), and kid xor jwk.
func (h *Handler) parseJWS(q *request, body []byte) (*jose.JSONWebSignature, *jose.Signature, error) {
	jws, err := jose.ParseSigned(string(body), Algorithms)
	if err != nil {
		if strings.Contains(err.Error(), "unexpected signature algorithm") {
			return nil, nil, acme.Problemf(acme.BadSignatureAlgorithm, "the JWS algorithm is not supported (use ES256, ES384, RS256 or EdDSA)")
		}
		return nil, nil, acme.Problemf(acme.Malformed, "the request is not a valid JWS: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, nil, acme.Problemf(acme.Malformed, "the JWS must have exactly one signature")
	}
	sig := &jws.Signatures[0]
	if len(sig.Unprotected.ExtraHeaders) > 0 || sig.Unprotected.KeyID != "" || sig.Unprotected.JSONWebKey != nil || sig.Unprotected.Nonce != "" {
		return nil, nil, acme.Problemf(acme.Malformed, "the JWS has an unprotected header")
	}
	hdr := sig.Protected
	u, _ := hdr.ExtraHeaders["url"].(string)
	if u == "" {
		return nil, nil, acme.Problemf(acme.Malformed, "the JWS protected header has no url")
	}
	if want := q.requestURL(); u != want {
		return nil, nil, acme.Problemf(acme.Unauthorized, "the JWS url %q is not the request's URL %q", u, want)
	}
	if (hdr.KeyID == "") == (hdr.JSONWebKey == nil) {
		return nil, nil, acme.Problemf(acme.Malformed, "the JWS protected header must have exactly one of jwk and kid")
	}
	if err := h.d.Service.UseNonce(q.r.Context(), hdr.Nonce); err != nil {
		return nil, nil, err
	}
	return jws, sig, nil
}

// requestURL is the URL the client must sign: the request's path on the
// /acme prefix, as the links are built.
func (q *request) requestURL() string {
	p := q.r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/2.0/acme/"); ok {
		p = "/acme/" + rest
	}
	return "https://" + q.r.Host + p
}

// verify reads and checks the request's JWS. With allowJWK the request may
// carry its key (new-account, revoke-cert); otherwise it must name an
// account by kid, which must be valid.
func (h *Handler) verify(q *request, allowJWK bool) (*signed, error) {
	body, err := readBody(q.r)
	if err != nil {
		return nil, err
	}
	jws, sig, err := h.parseJWS(q, body)
	if err != nil {
		return nil, err
	}
	out := &signed{}
	hdr := sig.Protected
	if hdr.JSONWebKey != nil {
		if !allowJWK {
			return nil, acme.Problemf(acme.Malformed, "this request must be signed by an account key (kid), not a jwk")
		}
		if !hdr.JSONWebKey.Valid() || !hdr.JSONWebKey.IsPublic() {
			return nil, acme.Problemf(acme.BadPublicKey, "the jwk is not a valid public key")
		}
		if err := checkKey(hdr.JSONWebKey); err != nil {
			return nil, err
		}
		out.jwk = hdr.JSONWebKey
	} else {
		prefix := q.link("account") + "/"
		id, ok := strings.CutPrefix(hdr.KeyID, prefix)
		if !ok || id == "" || strings.Contains(id, "/") {
			return nil, acme.Problemf(acme.AccountDoesNotExist, "kid %q is not an account of this provisioner", hdr.KeyID)
		}
		acc, err := h.d.Service.Account(q.r.Context(), id)
		if err != nil {
			return nil, err
		}
		if acc.Status != acme.StatusValid {
			return nil, acme.Problemf(acme.Unauthorized, "account %s is %s", id, acc.Status)
		}
		if acc.ProvisionerName != "" && acc.ProvisionerName != q.prov.Info().Name {
			return nil, acme.Problemf(acme.AccountDoesNotExist, "account %s belongs to another provisioner", id)
		}
		out.jwk, out.account = acc.Key, acc
		q.fields["account"] = id
	}
	payload, err := jws.Verify(out.jwk)
	if err != nil {
		return nil, acme.Problemf(acme.Malformed, "the JWS signature is invalid")
	}
	out.payload = payload
	out.empty = len(payload) == 0
	return out, nil
}

// checkKey refuses weak account keys.
func checkKey(k *jose.JSONWebKey) error {
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return acme.Problemf(acme.BadPublicKey, "RSA keys must be at least 2048 bits")
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return acme.Problemf(acme.BadPublicKey, "unsupported key type %T", k.Key)
	}
	return nil
}

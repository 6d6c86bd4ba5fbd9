package api

import (
	"net/url"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// Bounds on the fields of a request, checked before the field is parsed:
// the handlers run before any authorization, so what a field may cost must
// not depend on what the client sends (issue 14). A value over its bound is
// refused with a 400 that names the field (tooLong). The serial number's
// bound lives with its parser, authority.NormalizeSerial.
const (
	// MaxTokenSize bounds a token (ott, or Authorization: Bearer). step's
	// JWK tokens are under 1 KB; the largest it mints carry a certificate
	// chain in the header (x5c, sshpop: 4-12 KB with RSA-4096 chains), and
	// cloud identity tokens (AWS, Azure with group claims) stay under 10 KB.
	// 64 KiB leaves room for all of them; it is the token parser's own
	// bound (token.MaxSize) and the server's header limit.
	MaxTokenSize = token.MaxSize
	// MaxCSRSize bounds a PEM CSR: a CSR with an RSA-16384 key is under
	// 5 KB, one with a thousand SANs about 40 KB.
	MaxCSRSize = 64 << 10
	// MaxTemplateDataSize bounds the templateData JSON of /sign.
	MaxTemplateDataSize = 64 << 10
	// MaxReasonSize bounds the free-text reason of /revoke.
	MaxReasonSize = 1 << 10

	// maxFingerprintLen bounds /root/{sha}: a SHA-256 is 64 hex digits
	// (95 with separators).
	maxFingerprintLen = 128
	// maxKIDLen bounds /provisioners/{kid}/encrypted-key: a JWK thumbprint
	// is 43 characters.
	maxKIDLen = 128
	// maxCursorLen bounds the provisioners' cursor, a 40-digit ID.
	maxCursorLen = 128
	// maxLimitLen bounds a limit query value: an int64 has 19 digits.
	maxLimitLen = 32
	// maxQueryValueLen bounds each query value of the admin routes.
	maxQueryValueLen = 256
)

// checkLen refuses v when it is longer than max bytes. The message names
// the field and both lengths, never the value.
func checkLen(field, v string, max int) error {
	if len(v) > max {
		return tooLong(field, len(v), max)
	}
	return nil
}

func tooLong(field string, n, max int) error {
	return errs.Errorf(errs.BadRequest, "%s is too long: %d bytes, at most %d", field, n, max)
}

// checkQuery refuses a query whose named values are longer than max.
func checkQuery(q url.Values, max int, names ...string) error {
	for _, k := range names {
		for _, v := range q[k] {
			if err := checkLen(k, v, max); err != nil {
				return err
			}
		}
	}
	return nil
}

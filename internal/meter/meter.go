// Package meter declares what Mayfly's components report about their work
// (requests, certificates, token replays, database commits, KMS calls), so
// that a metrics backend can be plugged in at the edge (ca/metrics, with
// Prometheus) while the domain knows none. Nop is the default.
//
// Every method must be safe for concurrent use, must not block, and must not
// fail: a meter that cannot record drops the measurement. Label values are
// bounded by configuration (route patterns, provisioner names, backend
// types), never taken from request input.
package meter

import "time"

// Operations of Certificates.Certificate.
const (
	OpSign   = "sign"
	OpRenew  = "renew"
	OpRekey  = "rekey"
	OpRevoke = "revoke"
	// The same decisions on SSH certificates.
	OpSSHSign   = "ssh_sign"
	OpSSHRenew  = "ssh_renew"
	OpSSHRekey  = "ssh_rekey"
	OpSSHRevoke = "ssh_revoke"
)

// Results of Certificates.Certificate: ResultOK, or the error kind of a
// refusal in lower case ("unauthorized", "forbidden", "badrequest", ...).
const ResultOK = "ok"

// Requests is reported by the API for every HTTP request it answers.
type Requests interface {
	// Request records one answered request: route is the route pattern
	// ("/1.0/sign"), never the raw path.
	Request(route string, status int, elapsed time.Duration)
}

// Certificates is reported by the authority for every decision.
type Certificates interface {
	// Certificate records one sign, renew, rekey or revoke decision by the
	// provisioner named ("" when none could be identified) with its result.
	Certificate(op, provisioner, result string)
	// TokenReplay records a one-time token refused because it was used.
	TokenReplay(provisioner string)
}

// Commits is reported by the storage backends for every commit (one
// transaction or sync carrying a batch of writes).
type Commits interface {
	Commit(backend string, elapsed time.Duration, batch int)
}

// KMS is reported by key managers around every call to a remote or hardware
// key (sign, decrypt, get public key).
type KMS interface {
	KMSCall(backend, op string, elapsed time.Duration, err error)
}

// Meter is every report at once: what a metrics backend implements.
type Meter interface {
	Requests
	Certificates
	Commits
	KMS
}

// Nop records nothing.
type Nop struct{}

var _ Meter = Nop{}

// Request implements Requests.
func (Nop) Request(string, int, time.Duration) {}

// Certificate implements Certificates.
func (Nop) Certificate(string, string, string) {}

// TokenReplay implements Certificates.
func (Nop) TokenReplay(string) {}

// Commit implements Commits.
func (Nop) Commit(string, time.Duration, int) {}

// KMSCall implements KMS.
func (Nop) KMSCall(string, string, time.Duration, error) {}

// CommitsOr returns c, or Nop when c is nil.
func CommitsOr(c Commits) Commits {
	if c == nil {
		return Nop{}
	}
	return c
}

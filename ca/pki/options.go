// Package pki implements `step ca init`: it generates a root and an
// intermediate CA certificate with their keys, the first JWK provisioner, and
// writes them together with ca.json and defaults.json into a step path, with the
// layout, file modes and formats of Smallstep's step CLI (wire-spec §1.2-§1.6).
//
// Init generates every artifact in memory before it writes the first byte, and
// undoes its own writes when a later write fails (see Init). The package holds
// no state; all functions are safe for concurrent use on distinct step paths.
package pki

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// DeploymentStandalone is the only deployment type Init supports.
const DeploymentStandalone = "standalone"

// Defaults for the CA keys and the JWK provisioner (wire-spec §8 "Key generation defaults").
const (
	DefaultKty   = "EC"
	DefaultCurve = "P-256"
	DefaultSize  = 2048
)

// CAValidity is the lifetime of the generated root and intermediate certificates:
// 10 years of 365 days, as step uses (3650 days).
const CAValidity = 10 * 365 * 24 * time.Hour

// ErrInvalidOptions is wrapped by every error Init returns because the Options
// are incomplete or inconsistent (before anything was generated or written).
var ErrInvalidOptions = errors.New("invalid options")

// ErrExists is wrapped by the error Init returns when a file it would write
// already exists and Options.Force is false.
var ErrExists = errors.New("already exists")

// Options are the inputs of `step ca init`. The zero value of every optional
// field means step's default.
type Options struct {
	// Name of the PKI: root subject "O=<Name>, CN=<Name> Root CA" and
	// intermediate "O=<Name>, CN=<Name> Intermediate CA". Required.
	Name string
	// DNSNames clients use to reach the CA (ca.json dnsNames); the first one
	// makes the default ca-url. Required unless PKIOnly.
	DNSNames []string
	// Address the CA listens on (ca.json address), e.g. "127.0.0.1:9000" or ":443".
	// Required unless PKIOnly.
	Address string
	// ProvisionerName is the name of the first JWK provisioner. Required unless PKIOnly.
	ProvisionerName string
	// Password encrypts the CA private keys (and the provisioner key when
	// ProvisionerPassword is empty). Required.
	Password []byte
	// ProvisionerPassword encrypts the provisioner's encryptedKey; empty means Password.
	ProvisionerPassword []byte

	// Kty, Curve and Size select the type of the CA keys (keyutil.Generate);
	// empty means EC P-256, Size 0 means 2048 for RSA.
	Kty   string
	Curve string
	Size  int

	// RootCertPath and RootKeyPath name an existing root certificate and key to
	// use instead of generating a root. Both or neither must be set. The root
	// certificate is copied to certs/root_ca.crt; the root key is only read
	// (decrypted with RootKeyPassword when encrypted) and is not copied.
	RootCertPath    string
	RootKeyPath     string
	RootKeyPassword []byte

	// KMS, when set, creates the root and intermediate keys in a key
	// manager (kms.go); RootCertPath must then be empty.
	KMS *KMSKeys

	// WithCAURL overrides the ca-url written to defaults.json
	// (default "https://<DNSNames[0]>:<port of Address>").
	WithCAURL string
	// NoDB omits the db block from ca.json and does not create db/.
	NoDB bool
	// RemoteManagement (step's --remote-management) writes ca.json with
	// authority.enableAdmin and no provisioners: the caller stores the
	// first provisioner (Result.Provisioner) and a super admin in the
	// database. It needs the database.
	RemoteManagement bool
	// ACME (step's --acme) adds the ACME provisioner "acme" with step-ca's
	// defaults to ca.json, after the JWK provisioner.
	ACME bool
	// DeploymentType must be empty or "standalone"; other step deployment types
	// (linked, hosted) are not supported.
	DeploymentType string
	// SSH adds the SSH user and host CA keys, the ssh block, the SSHPOP
	// provisioner and the SSH templates (step's --ssh, wire-spec §1.2).
	SSH bool
	// PKIOnly writes only the certificates and keys (step's --pki): no
	// provisioner, ca.json, defaults.json, db/ or templates/.
	PKIOnly bool
	// Force overwrites existing files; without it Init fails, before writing
	// anything, when any file it would write already exists.
	Force bool

	// Clock returns the current time for certificate validity; nil means time.Now.
	Clock func() time.Time
	// Progress, when non-nil, receives step's progress lines while Init works:
	// "Generating root certificate... done!\n" (or "Copying root certificate...
	// done!\n") and "Generating intermediate certificate... done!\n".
	Progress io.Writer
}

// CheckDeploymentType returns nil for "" and "standalone" (any case) and an
// error wrapping ErrInvalidOptions for every other deployment type: step's
// "linked" and "hosted" types are not supported.
func CheckDeploymentType(t string) error {
	switch strings.ToLower(t) {
	case "", DeploymentStandalone:
		return nil
	case "linked", "hosted":
		return fmt.Errorf("%w: deployment type %q is not supported: only %q is (--deployment-type)", ErrInvalidOptions, t, DeploymentStandalone)
	default:
		return fmt.Errorf("%w: unknown deployment type %q: use %q (--deployment-type)", ErrInvalidOptions, t, DeploymentStandalone)
	}
}

// now returns the current time from the configured clock.
func (o *Options) now() time.Time {
	if o.Clock != nil {
		return o.Clock()
	}
	return time.Now()
}

// keyParams returns the CA key type, curve and size with defaults applied.
func (o *Options) keyParams() (kty, crv string, size int) {
	kty, crv, size = o.Kty, o.Curve, o.Size
	if kty == "" {
		kty = DefaultKty
	}
	if crv == "" && strings.EqualFold(kty, "EC") {
		crv = DefaultCurve
	}
	if size == 0 && strings.EqualFold(kty, "RSA") {
		size = DefaultSize
	}
	return kty, crv, size
}

// provisionerPassword returns the password that encrypts the provisioner key.
func (o *Options) provisionerPassword() []byte {
	if len(o.ProvisionerPassword) > 0 {
		return o.ProvisionerPassword
	}
	return o.Password
}

// validate checks the options that do not need the file system. Every error
// wraps ErrInvalidOptions and names the option (by its step flag) at fault.
func (o *Options) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
	}
	if err := CheckDeploymentType(o.DeploymentType); err != nil {
		return err
	}
	if strings.TrimSpace(o.Name) == "" {
		return bad("a name is required (--name)")
	}
	if o.ACME && o.RemoteManagement {
		return bad("--acme cannot be used with --remote-management yet: add the ACME provisioner afterwards with step ca provisioner add acme --type ACME")
	}
	if o.RemoteManagement && (o.NoDB || o.PKIOnly) {
		return bad("--remote-management needs the database: it cannot be used with --no-db or --pki")
	}
	if len(o.Password) == 0 {
		return bad("a password for the CA keys is required (--password-file)")
	}
	if (o.RootCertPath == "") != (o.RootKeyPath == "") {
		return bad("an existing root needs both the certificate (--root) and its key (--key)")
	}
	if o.PKIOnly {
		return nil
	}
	if len(o.DNSNames) == 0 {
		return bad("at least one DNS name or IP address is required (--dns)")
	}
	for _, n := range o.DNSNames {
		if strings.TrimSpace(n) == "" || strings.ContainsAny(n, " \t,/") {
			return bad("invalid DNS name or IP address %q (--dns)", n)
		}
	}
	if o.Address == "" {
		return bad("an address is required (--address)")
	}
	if _, port, err := net.SplitHostPort(o.Address); err != nil || port == "" {
		return bad("invalid address %q (--address): want host:port or :port", o.Address)
	}
	if strings.TrimSpace(o.ProvisionerName) == "" {
		return bad("a provisioner name is required (--provisioner)")
	}
	return nil
}

// caURL returns the ca-url for defaults.json: WithCAURL, else
// https://<first DNS name>:<port of Address> (IPv6 literals bracketed).
func (o *Options) caURL() string {
	if o.WithCAURL != "" {
		return o.WithCAURL
	}
	_, port, _ := net.SplitHostPort(o.Address)
	host := o.DNSNames[0]
	if port == "443" {
		return "https://" + bracketIPv6(host)
	}
	return "https://" + net.JoinHostPort(host, port)
}

// bracketIPv6 puts an IPv6 literal between brackets.
func bracketIPv6(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

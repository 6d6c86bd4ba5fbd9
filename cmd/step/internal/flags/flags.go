// Package flags is the one catalogue of flags shared by step commands, so that a
// flag has the same name, alias, default and meaning everywhere.
//
// Every constructor returns a new flag value (the framework fills in values from
// STEP_* variables and defaults.json per command, so flag values must not be shared
// between commands). Do not mark flags Required: a value may come from the
// environment or defaults.json, which are applied after urfave/cli's required
// check; validate in the action instead (see RequireString).
package flags

import (
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/internal/timeutil"
)

// CaURL is --ca-url, the URI of the CA (defaults.json "ca-url", $STEP_CA_URL).
func CaURL() *cli.StringFlag {
	return &cli.StringFlag{Name: "ca-url", Usage: "`URI` of the targeted Step Certificate Authority."}
}

// Root is --root, the root certificate file used to trust the CA.
func Root() *cli.StringFlag {
	return &cli.StringFlag{Name: "root", Usage: "The path to the PEM `file` used as the root certificate authority."}
}

// Fingerprint is --fingerprint, the SHA-256 hex fingerprint of the root certificate.
func Fingerprint() *cli.StringFlag {
	return &cli.StringFlag{Name: "fingerprint", Usage: "The `fingerprint` of the targeted root certificate."}
}

// Force is --force/-f: overwrite files without asking.
func Force() *cli.BoolFlag {
	return &cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "Force the overwrite of files without asking."}
}

// PasswordFile is --password-file.
func PasswordFile(usage string) *cli.StringFlag {
	if usage == "" {
		usage = "The path to the `file` containing the password to encrypt or decrypt the private key."
	}
	return &cli.StringFlag{Name: "password-file", Usage: usage}
}

// ProvisionerPasswordFile is --provisioner-password-file.
func ProvisionerPasswordFile() *cli.StringFlag {
	return &cli.StringFlag{Name: "provisioner-password-file", Usage: "The path to the `file` containing the password to decrypt the one-time token generating key."}
}

// KTY is --kty (EC, RSA, OKP), default EC.
func KTY() *cli.StringFlag {
	return &cli.StringFlag{Name: "kty", Value: "EC", Usage: "The `kty` to build the certificate upon: EC (default), RSA, OKP."}
}

// Curve is --curve/--crv (P-256, P-384, P-521, Ed25519).
func Curve() *cli.StringFlag {
	return &cli.StringFlag{Name: "curve", Aliases: []string{"crv"}, Usage: "The elliptic `curve` to use for EC and OKP key types: P-256 (default), P-384, P-521, Ed25519."}
}

// Size is --size, the RSA key size in bits (default 2048).
func Size() *cli.IntFlag {
	return &cli.IntFlag{Name: "size", Value: 2048, Usage: "The `size` (in bits) of the key for RSA key types."}
}

// KeyFlags returns --kty, --curve and --size; read them with KeyParams.
func KeyFlags() []cli.Flag { return []cli.Flag{KTY(), Curve(), Size()} }

// NotBefore is --not-before (RFC 3339 time or duration from now).
func NotBefore(what string) *cli.StringFlag {
	if what == "" {
		what = "certificate"
	}
	return &cli.StringFlag{Name: "not-before", Usage: "The `time|duration` set in the NotBefore property of the " + what + ": an RFC 3339 time (2026-01-02T15:04:05Z) or a duration from now (5m, -1h)."}
}

// NotAfter is --not-after (RFC 3339 time or duration from now).
func NotAfter(what string) *cli.StringFlag {
	if what == "" {
		what = "certificate"
	}
	return &cli.StringFlag{Name: "not-after", Usage: "The `time|duration` set in the NotAfter property of the " + what + ": an RFC 3339 time or a duration from now (24h, 720h)."}
}

// SAN is --san, repeatable.
func SAN() *cli.StringSliceFlag {
	return &cli.StringSliceFlag{Name: "san", Usage: "Add a DNS name, IP address, email or URI `name` to the Subject Alternative Names. Use the flag multiple times for several."}
}

// Context is --context, the step context to use for this command.
func Context() *cli.StringFlag {
	return &cli.StringFlag{Name: "context", Usage: "The `name` of the context for the new authority."}
}

// Offline is --offline.
func Offline() *cli.BoolFlag {
	return &cli.BoolFlag{Name: "offline", Usage: "Creates a certificate without contacting the certificate authority. Offline mode uses the configuration, certificates, and keys created with **step ca init**."}
}

// Insecure is --insecure.
func Insecure() *cli.BoolFlag {
	return &cli.BoolFlag{Name: "insecure", Usage: "Allow operations that are insecure (e.g. --no-password)."}
}

// NoPassword is --no-password (needs --insecure; see CheckNoPassword).
func NoPassword() *cli.BoolFlag {
	return &cli.BoolFlag{Name: "no-password", Usage: "Do not ask for a password to encrypt the private key. Sensitive key material will be written to disk unencrypted. This is not recommended. Requires **--insecure** flag."}
}

// Format is --format with the given default and usage.
func Format(def, usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: "format", Value: def, Usage: usage}
}

// Token is --token, a one-time token.
func Token() *cli.StringFlag {
	return &cli.StringFlag{Name: "token", Usage: "The one-time `token` used to authenticate with the CA."}
}

// Provisioner is --provisioner/--issuer.
func Provisioner() *cli.StringFlag {
	return &cli.StringFlag{Name: "provisioner", Aliases: []string{"issuer"}, Usage: "The provisioner `name` to use."}
}

// SetFile is --set-file, a JSON file with template data.
func SetFile() *cli.StringFlag {
	return &cli.StringFlag{Name: "set-file", Usage: "The path of a JSON `file` with the template data variables."}
}

// Template is --template, a certificate template file.
func Template() *cli.StringFlag {
	return &cli.StringFlag{Name: "template", Usage: "The certificate template `file`, a JSON representation of the certificate to create."}
}

// ExpiresIn is --expires-in.
func ExpiresIn(usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: "expires-in", Usage: usage}
}

// CAConfig is --ca-config, the ca.json used in offline mode.
func CAConfig() *cli.StringFlag {
	return &cli.StringFlag{Name: "ca-config", Usage: "The certificate authority configuration `file`. Defaults to $(step path)/config/ca.json."}
}

// Bundle is --bundle.
func Bundle(usage string) *cli.BoolFlag {
	return &cli.BoolFlag{Name: "bundle", Usage: usage}
}

// Roots is --roots, a comma separated list of root certificate files or a directory.
func Roots(usage string) *cli.StringFlag {
	if usage == "" {
		usage = "Root certificate(s) that will be used to verify the authenticity of the remote server: a `list` of files separated by commas, or a directory."
	}
	return &cli.StringFlag{Name: "roots", Usage: usage}
}

// ServerName is --servername (TLS SNI).
func ServerName() *cli.StringFlag {
	return &cli.StringFlag{Name: "servername", Usage: "TLS Server Name Indication that should be sent to request a specific certificate from the server."}
}

// RequireString returns the value of flag name or an error "flag --name is required".
func RequireString(c *cli.Context, name string) (string, error) {
	v := c.String(name)
	if v == "" {
		return "", fmt.Errorf("flag --%s is required", name)
	}
	return v, nil
}

// CheckNoPassword returns an error unless --no-password comes with --insecure, as
// step requires. It is a no-op when --no-password is not set.
func CheckNoPassword(c *cli.Context) error {
	if c.Bool("no-password") && !c.Bool("insecure") {
		return fmt.Errorf("flag '--no-password' requires the '--insecure' flag")
	}
	if c.Bool("no-password") && c.String("password-file") != "" {
		return fmt.Errorf("flag '--password-file' and flag '--no-password' are incompatible")
	}
	return nil
}

// KeyParams reads --kty/--curve/--size and returns the arguments for
// keyutil.Generate: EC gets a curve (default P-256) and size 0, OKP a curve
// (default Ed25519) and size 0, RSA no curve and the size. Invalid combinations
// (e.g. --curve with RSA, a curve that does not belong to the key type) are errors.
func KeyParams(c *cli.Context) (string, string, int, error) {
	kty := strings.ToUpper(c.String("kty"))
	crv := c.String("curve")
	size := c.Int("size")
	switch kty {
	case "", "EC":
		if crv == "" {
			crv = "P-256"
		}
		switch strings.ToUpper(crv) {
		case "P-256", "P-384", "P-521":
			return "EC", strings.ToUpper(crv), 0, nil
		}
		return "", "", 0, fmt.Errorf("invalid value '%s' for flag '--curve'; options are P-256, P-384, or P-521", crv)
	case "OKP":
		if crv == "" {
			crv = "Ed25519"
		}
		if !strings.EqualFold(crv, "Ed25519") {
			return "", "", 0, fmt.Errorf("invalid value '%s' for flag '--curve'; options are Ed25519", crv)
		}
		return "OKP", "Ed25519", 0, nil
	case "RSA":
		if crv != "" {
			return "", "", 0, fmt.Errorf("flag '--curve' is incompatible with '--kty RSA'")
		}
		if size < 2048 {
			return "", "", 0, fmt.Errorf("invalid value '%d' for flag '--size'; minimum is 2048", size)
		}
		return "RSA", "", size, nil
	}
	return "", "", 0, fmt.Errorf("invalid value '%s' for flag '--kty'; options are EC, RSA, or OKP", c.String("kty"))
}

// ParseTime reads an RFC 3339 time or a duration relative to now (step's
// --not-before/--not-after syntax). An empty value returns the zero time.
// The error names the flag.
func ParseTime(flag, value string, now time.Time) (time.Time, error) {
	td, err := timeutil.Parse(value)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid value for flag '--%s': %w", flag, err)
	}
	return td.RelativeTo(now), nil
}

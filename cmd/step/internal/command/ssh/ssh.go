// Package ssh is `step ssh`: SSH certificates from the CA (wire-spec §8.3),
// with the key revocation list command Mayfly adds (`step ssh krl`).
package ssh

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/ssh"
)

// Command returns the `step ssh` group.
func Command() *cli.Command {
	return &cli.Command{
		Name:  "ssh",
		Usage: "create and manage ssh certificates",
		Subcommands: []*cli.Command{
			certificateCommand(),
			inspectCommand(),
			fingerprintCommand(),
			revokeCommand(),
			krlCommand(),
			configCommand(),
			renewCommand(),
			rekeyCommand(),
			checkHostCommand(),
			hostsCommand(),
			needsRenewalCommand(),
			proxyCommand(),
			loginCommand(),
			logoutCommand(),
			listCommand(),
		},
	}
}

// maxFileSize bounds the key and certificate files read.
const maxFileSize = 1 << 20

// readFile reads a small file, naming it in errors.
func readFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", path, err)
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("error reading %s: %d bytes, at most %d", path, fi.Size(), maxFileSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", path, err)
	}
	return b, nil
}

// readPublicKey reads an authorized_keys line (a key or a certificate).
func readPublicKey(path string) (gossh.PublicKey, string, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, "", err
	}
	k, comment, _, _, err := gossh.ParseAuthorizedKey(b)
	if err != nil {
		return nil, "", fmt.Errorf("error parsing %s: %w", path, err)
	}
	return k, comment, nil
}

// readCertificate reads an SSH certificate file (ssh-keygen's -cert.pub).
func readCertificate(path string) (*gossh.Certificate, error) {
	k, _, err := readPublicKey(path)
	if err != nil {
		return nil, err
	}
	c, ok := k.(*gossh.Certificate)
	if !ok {
		return nil, fmt.Errorf("%s is not an ssh certificate: it holds a %s key", path, k.Type())
	}
	return c, nil
}

// authorizedLine is "<type> <base64> <comment>\n".
func authorizedLine(k gossh.PublicKey, comment string) []byte {
	s := k.Type() + " " + base64.StdEncoding.EncodeToString(k.Marshal())
	if comment != "" {
		s += " " + comment
	}
	return []byte(s + "\n")
}

// decodeCert decodes the base64 certificate of a CA answer.
func decodeCert(b64 string) (*gossh.Certificate, error) {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("error decoding the ssh certificate from the CA: %w", err)
	}
	return ssh.ParseCertificate(b)
}

// certPath returns where the certificate of a key file is written:
// "<key without .pub>-cert.pub".
func certPath(keyFile string) string {
	return strings.TrimSuffix(keyFile, ".pub") + "-cert.pub"
}

// principalsFor returns step's default principals of a user certificate
// for sub: an email gives its local part and itself.
func principalsFor(sub string) []string {
	if i := strings.LastIndexByte(sub, '@'); i > 0 {
		return []string{sub[:i], sub}
	}
	return []string{sub}
}

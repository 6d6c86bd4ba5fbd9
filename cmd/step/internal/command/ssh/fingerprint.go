package ssh

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
)

func fingerprintCommand() *cli.Command {
	return &cli.Command{
		Name:      "fingerprint",
		Usage:     "print the fingerprint of an SSH public key or certificate",
		UsageText: "step ssh fingerprint <file>",
		ArgsUsage: "<file>",
		Action:    fingerprintAction,
	}
}

// fingerprintAction prints ssh-keygen -l's line: bits, SHA256 fingerprint,
// comment and key type ("-CERT" for a certificate, which is fingerprinted
// by its key).
func fingerprintAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	k, comment, err := readPublicKey(c.Args().First())
	if err != nil {
		return err
	}
	suffix := ""
	if cert, ok := k.(*gossh.Certificate); ok {
		k, suffix = cert.Key, "-CERT"
	}
	if comment == "" {
		comment = "no comment"
	}
	_, err = fmt.Fprintf(os.Stdout, "%d %s %s (%s%s)\n", keyBits(k), gossh.FingerprintSHA256(k), comment, keyName(k), suffix)
	return err
}

func keyBits(k gossh.PublicKey) int {
	cp, ok := k.(gossh.CryptoPublicKey)
	if !ok {
		return 0
	}
	switch p := cp.CryptoPublicKey().(type) {
	case *rsa.PublicKey:
		return p.N.BitLen()
	case *ecdsa.PublicKey:
		return p.Curve.Params().BitSize
	case ed25519.PublicKey:
		return 256
	}
	return 0
}

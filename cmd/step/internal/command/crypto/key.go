package crypto

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/keyfile"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

func keyCommand() *cli.Command {
	return &cli.Command{
		Name:        "key",
		Usage:       "manage keys",
		UsageText:   "**step crypto key** <subcommand> [arguments] [global-flags] [subcommand-flags]",
		Subcommands: []*cli.Command{keyPublicCommand(), keyFormatCommand(), keyInspectCommand()},
	}
}

func keyPublicCommand() *cli.Command {
	return &cli.Command{
		Name:      "public",
		Usage:     "print the public key from a private key or certificate",
		UsageText: "**step crypto key public** <key-file> [**--out**=<file>] [**--password-file**=<file>] [**--force**]",
		ArgsUsage: "<key-file>",
		Description: `**step crypto key public** prints the public key (PEM "PUBLIC KEY") of a
private key, public key, certificate or CSR.

    $ step crypto key public priv.pem`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "The `file` to write the public key to."},
			flags.PasswordFile("The path to the `file` containing the password to decrypt the private key."),
			flags.Force(),
		},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 1, 1); err != nil {
				return err
			}
			pub, err := readAnyPublicKey(c.Args().First(), ui.PasswordFlag(c, "password-file"))
			if err != nil {
				return err
			}
			b, err := keyfile.EncodePublicKey(pub)
			if err != nil {
				return err
			}
			return writeOutput(c, b, 0o644, "The public key has been saved in %s.\n")
		},
	}
}

// readAnyPublicKey returns the public key of a private or public key, a
// certificate or a CSR file.
func readAnyPublicKey(file string, pw ui.PasswordFile) (crypto.PublicKey, error) {
	data, err := ui.ReadInput(file)
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(data, []byte("PRIVATE KEY")) {
		if pub, err := pemutil.ParsePublicKey(data); err == nil {
			return pub, nil
		}
	}
	jwk, err := readJWK(file, pw)
	if err != nil {
		return nil, err
	}
	if s, ok := jwk.Key.(crypto.Signer); ok {
		return s.Public(), nil
	}
	return jwk.Key, nil
}

// writeOutput writes b to --out (reporting with msg) or to stdout.
func writeOutput(c *cli.Context, b []byte, perm uint32, msg string) error {
	if out := c.String("out"); out != "" {
		if err := ui.WriteFile(out, b, osMode(perm), c.Bool("force")); err != nil {
			return err
		}
		ui.Printf(msg, out)
		return nil
	}
	_, err := c.App.Writer.Write(b)
	return err
}

func keyFormatCommand() *cli.Command {
	return &cli.Command{
		Name:      "format",
		Usage:     "reformat a public or private key",
		UsageText: "**step crypto key format** <key-file> [**--der**|**--pem**|**--ssh**|**--jwk**] [**--pkcs8**] [**--out**=<file>] [**--password-file**=<file>] [**--no-password** **--insecure**] [**--force**]",
		ArgsUsage: "<key-file>",
		Description: `**step crypto key format** converts a key between PEM, DER, OpenSSH and JWK.
Without a format flag, a PEM key becomes DER and a DER key becomes PEM. Private
keys are written encrypted with --password-file unless --no-password --insecure;
--pkcs8 writes PKCS#8 instead of SEC1/PKCS#1.

    $ step crypto key format key.pem --out key.der
    $ step crypto key format --pem --pkcs8 --no-password --insecure key.der`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "pem", Usage: "Convert to PEM."},
			&cli.BoolFlag{Name: "der", Usage: "Convert to DER."},
			&cli.BoolFlag{Name: "ssh", Usage: "Convert to OpenSSH format."},
			&cli.BoolFlag{Name: "jwk", Usage: "Convert to JWK (public keys and unencrypted private keys)."},
			&cli.BoolFlag{Name: "pkcs8", Usage: "Write private keys in PKCS#8."},
			&cli.StringFlag{Name: "out", Usage: "The `file` to write the key to."},
			flags.PasswordFile("The path to the `file` containing the password to decrypt the private key."),
			&cli.StringFlag{Name: "new-password-file", Usage: "The path to the `file` containing the password to encrypt the new private key."},
			flags.NoPassword(),
			flags.Insecure(),
			flags.Force(),
		},
		Action: keyFormatAction,
	}
}

func keyFormatAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	n := 0
	for _, f := range []string{"pem", "der", "ssh", "jwk"} {
		if c.Bool(f) {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("flags '--pem', '--der', '--ssh' and '--jwk' are mutually exclusive")
	}
	if c.Bool("no-password") && !c.Bool("insecure") {
		return fmt.Errorf("flag '--no-password' requires the '--insecure' flag")
	}
	file := c.Args().First()
	data, err := ui.ReadInput(file)
	if err != nil {
		return err
	}
	isPEM := bytes.Contains(data, []byte("-----BEGIN"))
	var key any
	private := bytes.Contains(data, []byte("PRIVATE KEY"))
	if !private {
		if key, err = pemutil.ParsePublicKey(data); err != nil {
			private = true
		}
	}
	if private {
		if key, err = keyfile.ParsePrivateKey(file, data, ui.PasswordFlag(c, "password-file")); err != nil {
			return err
		}
	}
	format := "pem"
	switch {
	case c.Bool("der"):
		format = "der"
	case c.Bool("ssh"):
		format = "ssh"
	case c.Bool("jwk"):
		format = "jwk"
	case c.Bool("pem"):
	case isPEM:
		format = "der"
	}
	var out []byte
	switch format {
	case "der":
		if private {
			out, err = x509.MarshalPKCS8PrivateKey(key)
			if !c.Bool("pkcs8") {
				switch k := key.(type) {
				case *ecdsa.PrivateKey:
					out, err = x509.MarshalECPrivateKey(k)
				case *rsa.PrivateKey:
					out, err = x509.MarshalPKCS1PrivateKey(k), nil
				}
			}
		} else {
			out, err = x509.MarshalPKIXPublicKey(key)
		}
	case "pem":
		if !private {
			out, err = keyfile.EncodePublicKey(key)
			break
		}
		var pass []byte
		if !c.Bool("no-password") {
			if pass, err = readPasswordFile(c.String("new-password-file")); err != nil {
				return err
			}
			if pass == nil {
				return fmt.Errorf("a password is required to encrypt the private key: use --new-password-file, or --no-password --insecure")
			}
		}
		var block *pem.Block
		if c.Bool("pkcs8") {
			block, err = pemutil.MarshalPKCS8PrivateKey(key, pass)
		} else {
			block, err = pemutil.MarshalPrivateKey(key, pass)
		}
		if err == nil {
			out = pem.EncodeToMemory(block)
		}
	case "ssh":
		pub := key
		if s, ok := key.(crypto.Signer); ok {
			pub = s.Public()
		}
		var sp ssh.PublicKey
		if sp, err = ssh.NewPublicKey(pub); err == nil {
			out = ssh.MarshalAuthorizedKey(sp)
		}
	case "jwk":
		jwk := jose.JSONWebKey{Key: key}
		if alg, aerr := algFor(key); aerr == nil {
			jwk.Algorithm = alg
		}
		out, err = json.MarshalIndent(jwk, "", "  ")
		out = append(out, '\n')
	}
	if err != nil {
		return fmt.Errorf("error converting %s: %w", file, err)
	}
	perm := uint32(0o600)
	if !private {
		perm = 0o644
	}
	return writeOutput(c, out, perm, "Your key has been saved in %s.\n")
}

func keyInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "print key details in human readable format",
		UsageText: "**step crypto key inspect** <key-file> [**--password-file**=<file>]",
		ArgsUsage: "<key-file>",
		Description: `**step crypto key inspect** prints the type, size and public parameters of a
private or public key, and its public key in PEM.

    $ step crypto key inspect priv.pem`,
		Flags: []cli.Flag{flags.PasswordFile("The path to the `file` containing the password to decrypt the private key.")},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 1, 1); err != nil {
				return err
			}
			pub, err := readAnyPublicKey(c.Args().First(), ui.PasswordFlag(c, "password-file"))
			if err != nil {
				return err
			}
			text, err := describeKey(pub)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(c.App.Writer, text)
			return err
		},
	}
}

// describeKey renders a public key in the certinfo style.
func describeKey(pub crypto.PublicKey) (string, error) {
	var b strings.Builder
	hexBlock := func(data []byte) {
		for i, v := range data {
			if i%15 == 0 {
				b.WriteString("\n    ")
			}
			fmt.Fprintf(&b, "%02x", v)
			if i != len(data)-1 {
				b.WriteString(":")
			}
		}
		b.WriteString("\n")
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		fmt.Fprintf(&b, "ECDSA Public-Key: (%d bit)\nX:", k.Curve.Params().BitSize)
		hexBlock(k.X.FillBytes(make([]byte, size)))
		b.WriteString("Y:")
		hexBlock(k.Y.FillBytes(make([]byte, size)))
		fmt.Fprintf(&b, "Curve: %s\n", k.Curve.Params().Name)
	case *rsa.PublicKey:
		fmt.Fprintf(&b, "RSA Public-Key: (%d bit)\nModulus:", k.N.BitLen())
		hexBlock(k.N.Bytes())
		fmt.Fprintf(&b, "Exponent: %d (%#x)\n", k.E, k.E)
	case ed25519.PublicKey:
		b.WriteString("Ed25519 Public-Key: (256 bit)\nX:")
		hexBlock(k)
	default:
		return "", fmt.Errorf("unsupported key type %T", pub)
	}
	p, err := keyfile.EncodePublicKey(pub)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "Type: %s\n%s", keyutil.PublicKeyDescription(pub), p)
	return b.String(), nil
}

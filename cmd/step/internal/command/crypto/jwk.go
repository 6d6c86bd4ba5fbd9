package crypto

import (
	"crypto"
	"encoding/json"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/keyfile"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	stepjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
)

func jwkCommand() *cli.Command {
	return &cli.Command{
		Name:        "jwk",
		Usage:       "create JWKs (JSON Web Keys) and manage JWK Key Sets",
		UsageText:   "**step crypto jwk** <subcommand> [arguments] [global-flags] [subcommand-flags]",
		Subcommands: []*cli.Command{jwkCreateCommand(), jwkKeysetCommand(), jwkPublicCommand(), jwkThumbprintCommand()},
	}
}

func jwkCreateCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a JWK (JSON Web Key)",
		UsageText: "**step crypto jwk create** <public-jwk-file> <private-jwk-file> [**--kty**=<type>] [**--crv**=<curve>] [**--size**=<size>] [**--kid**=<kid>] [**--use**=<use>] [**--from-pem**=<pem-file>] [**--password-file**=<file>] [**--no-password** **--insecure**] [**--force**]",
		ArgsUsage: "<public-jwk-file> <private-jwk-file>",
		Description: `**step crypto jwk create** generates a key pair and writes the public JWK and
the private JWK, encrypted as a JWE (PBES2-HS256+A128KW, A256GCM) unless
--no-password --insecure. The kid defaults to the RFC 7638 thumbprint.

    $ step crypto jwk create pub.json priv.json
    $ step crypto jwk create pub.json priv.json --kty OKP --crv Ed25519 --no-password --insecure`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "kid", Usage: "The `kid` (key ID); defaults to the JWK thumbprint."},
			&cli.StringFlag{Name: "use", Value: "sig", Usage: "The intended `use` of the key: sig or enc."},
			&cli.StringFlag{Name: "alg", Usage: "The `algorithm` the key is meant for; defaults from the key type."},
			&cli.StringFlag{Name: "from-pem", Usage: "Create a JWK representing the key in an existing PEM `file`."},
			flags.PasswordFile("The path to the `file` containing the password to encrypt the private JWK."),
			flags.NoPassword(),
			flags.Insecure(),
			flags.Force(),
		}, flags.KeyFlags()...),
		Action: jwkCreateAction,
	}
}

func jwkCreateAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 2, 2); err != nil {
		return err
	}
	if err := flags.CheckNoPassword(c); err != nil {
		return err
	}
	pubFile, privFile := c.Args().Get(0), c.Args().Get(1)
	if pubFile == privFile {
		return fmt.Errorf("positional arguments <public-jwk-file> and <private-jwk-file> cannot be equal in '%s'", c.Command.HelpName)
	}
	for _, f := range []string{pubFile, privFile} {
		if err := ui.CheckOverwrite(f, c.Bool("force")); err != nil {
			return err
		}
	}
	var priv crypto.Signer
	var err error
	if f := c.String("from-pem"); f != "" {
		if priv, err = keyfile.ReadPrivateKey(f, ui.PasswordFile{}); err != nil {
			return err
		}
	} else {
		kty, crv, size, err := flags.KeyParams(c)
		if err != nil {
			return err
		}
		if priv, err = keyutil.Generate(kty, crv, size); err != nil {
			return err
		}
	}
	jwk, err := stepjose.NewSigningJWK(priv)
	if err != nil {
		return err
	}
	jwk.Use = c.String("use")
	if a := c.String("alg"); a != "" {
		jwk.Algorithm = a
	}
	if k := c.String("kid"); k != "" {
		jwk.KeyID = k
	}
	pass, err := keyfile.NewPassword(ui.PasswordFlag(c, "password-file"), c.Bool("no-password"))
	if err != nil {
		return err
	}
	pubJWK := jwk.Public()
	pubJSON, err := json.MarshalIndent(pubJWK, "", "  ")
	if err != nil {
		return fmt.Errorf("error marshaling JWK: %w", err)
	}
	var privJSON []byte
	if pass == nil {
		if privJSON, err = json.MarshalIndent(jwk, "", "  "); err != nil {
			return fmt.Errorf("error marshaling JWK: %w", err)
		}
	} else {
		compact, err := stepjose.EncryptJWK(jwk, pass)
		if err != nil {
			return err
		}
		if privJSON, err = compactToFlattened(compact); err != nil {
			return err
		}
	}
	if err := ui.WriteFile(pubFile, append(pubJSON, '\n'), 0o644, true); err != nil {
		return err
	}
	if err := ui.WriteFile(privFile, append(privJSON, '\n'), 0o600, true); err != nil {
		return err
	}
	ui.Printf("Your public key has been saved in %s.\n", pubFile)
	ui.Printf("Your private key has been saved in %s.\n", privFile)
	return nil
}

// readStdinJWK reads a JWK (or encrypted JWK) from stdin.
func readStdinJWK(pw ui.PasswordFile) (*jose.JSONWebKey, error) {
	return readJWK("-", pw)
}

func jwkPublicCommand() *cli.Command {
	return &cli.Command{
		Name:      "public",
		Usage:     "extract a public JWK from a private JWK",
		UsageText: "**step crypto jwk public** < <private-jwk-file>",
		Description: `**step crypto jwk public** reads a JWK on stdin and prints its public part.

    $ cat priv.json | step crypto jwk public`,
		Flags: []cli.Flag{flags.PasswordFile("The path to the `file` containing the password to decrypt the JWK.")},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 0, 0); err != nil {
				return err
			}
			jwk, err := readStdinJWK(ui.PasswordFlag(c, "password-file"))
			if err != nil {
				return err
			}
			pub := jwk.Public()
			b, err := json.MarshalIndent(pub, "", "  ")
			if err != nil {
				return fmt.Errorf("error marshaling JWK: %w", err)
			}
			_, err = fmt.Fprintln(c.App.Writer, string(b))
			return err
		},
	}
}

func jwkThumbprintCommand() *cli.Command {
	return &cli.Command{
		Name:      "thumbprint",
		Usage:     "compute thumbprint for a JWK",
		UsageText: "**step crypto jwk thumbprint** < <jwk-file>",
		Description: `**step crypto jwk thumbprint** reads a JWK on stdin and prints its RFC 7638
SHA-256 thumbprint (base64url, no padding).

    $ cat pub.json | step crypto jwk thumbprint`,
		Flags: []cli.Flag{flags.PasswordFile("The path to the `file` containing the password to decrypt the JWK.")},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 0, 0); err != nil {
				return err
			}
			jwk, err := readStdinJWK(ui.PasswordFlag(c, "password-file"))
			if err != nil {
				return err
			}
			tp, err := stepjose.Thumbprint(jwk)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(c.App.Writer, tp)
			return err
		},
	}
}

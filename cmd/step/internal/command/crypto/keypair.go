package crypto

import (
	"crypto"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/keyfile"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
)

func keypairCommand() *cli.Command {
	return &cli.Command{
		Name:      "keypair",
		Usage:     "generate a public / private keypair in PEM format",
		UsageText: "**step crypto keypair** <pub_file> <priv_file> [**--kty**=<key-type>] [**--curve**=<curve>] [**--size**=<size>] [**--password-file**=<file>] [**--no-password** **--insecure**] [**--from-jwk**=<jwk-file>] [**--force**]",
		ArgsUsage: "<pub_file> <priv_file>",
		Description: `**step crypto keypair** generates a key pair and writes the public key
("PUBLIC KEY", 0644) and the private key (0600): EC and RSA keys as "EC PRIVATE
KEY"/"RSA PRIVATE KEY" with OpenSSL legacy AES-256-CBC encryption, Ed25519 as
encrypted PKCS#8; unencrypted with --no-password --insecure.

    $ step crypto keypair foo.pub foo.key
    $ step crypto keypair foo.pub foo.key --kty RSA --size 4096 --password-file pass.txt
    $ step crypto keypair foo.pub foo.key --kty OKP --curve Ed25519 --no-password --insecure`,
		Flags: append([]cli.Flag{
			flags.PasswordFile("The path to the `file` containing the password to encrypt the private key."),
			flags.NoPassword(),
			flags.Insecure(),
			&cli.StringFlag{Name: "from-jwk", Usage: "Create a PEM representing the key encoded in an existing JWK `file`."},
			flags.Force(),
		}, flags.KeyFlags()...),
		Action: keypairAction,
	}
}

func keypairAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 2, 2); err != nil {
		return err
	}
	if err := flags.CheckNoPassword(c); err != nil {
		return err
	}
	pubFile, privFile := c.Args().Get(0), c.Args().Get(1)
	if pubFile == privFile {
		return fmt.Errorf("positional arguments <pub_file> and <priv_file> cannot be equal in '%s'", c.Command.HelpName)
	}
	for _, f := range []string{pubFile, privFile} {
		if err := ui.CheckOverwrite(f, c.Bool("force")); err != nil {
			return err
		}
	}
	var priv crypto.Signer
	if jwkFile := c.String("from-jwk"); jwkFile != "" {
		for _, f := range []string{"kty", "curve", "size"} {
			if c.IsSet(f) {
				return fmt.Errorf("flag '--from-jwk' is incompatible with '--%s'", f)
			}
		}
		var err error
		if priv, err = readPrivateKeyAny(jwkFile, ui.PasswordFile{}); err != nil {
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
	pass, err := keyfile.NewPassword(ui.PasswordFlag(c, "password-file"), c.Bool("no-password"))
	if err != nil {
		return err
	}
	pubPEM, err := keyfile.EncodePublicKey(priv.Public())
	if err != nil {
		return err
	}
	privPEM, err := keyfile.EncodePrivateKey(priv, pass)
	if err != nil {
		return err
	}
	if err := ui.WriteFile(pubFile, pubPEM, 0o644, true); err != nil {
		return err
	}
	if err := ui.WriteFile(privFile, privPEM, 0o600, true); err != nil {
		return err
	}
	ui.Printf("Your public key has been saved in %s.\n", pubFile)
	ui.Printf("Your private key has been saved in %s.\n", privFile)
	return nil
}

package crypto

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/keyfile"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

func changePassCommand() *cli.Command {
	return &cli.Command{
		Name:      "change-pass",
		Usage:     "change password of an encrypted private key (PEM or JWK format)",
		UsageText: "**step crypto change-pass** <key-file> [**--out**=<file>] [**--password-file**=<file>] [**--new-password-file**=<file>] [**--no-password** **--insecure**] [**--force**]",
		ArgsUsage: "<key-file>",
		Description: `**step crypto change-pass** re-encrypts a private key with a new password,
keeping its PEM flavour: SEC1/PKCS#1 keys keep OpenSSL legacy encryption, PKCS#8
keys stay (encrypted) PKCS#8. Without --out the key file is replaced (atomically).

    $ step crypto change-pass key.pem
    $ step crypto change-pass key.pem --password-file old.txt --new-password-file new.txt --out new.pem`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"output-file"}, Usage: "The `file` to write the re-encrypted key to (default: <key-file>)."},
			flags.PasswordFile("The path to the `file` containing the password to decrypt the private key."),
			&cli.StringFlag{Name: "new-password-file", Usage: "The path to the `file` containing the password to encrypt the private key."},
			flags.NoPassword(),
			flags.Insecure(),
			flags.Force(),
		},
		Action: changePassAction,
	}
}

func changePassAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	if c.Bool("no-password") && !c.Bool("insecure") {
		return fmt.Errorf("flag '--no-password' requires the '--insecure' flag")
	}
	if c.Bool("no-password") && c.String("new-password-file") != "" {
		return fmt.Errorf("flag '--new-password-file' and flag '--no-password' are incompatible")
	}
	keyFile := c.Args().First()
	out := c.String("out")
	force := c.Bool("force")
	if out == "" {
		out = keyFile
		force = true // replacing the input in place is the point of the command
	}
	if err := ui.CheckOverwrite(out, force); err != nil {
		return err
	}
	data, err := ui.ReadInput(keyFile)
	if err != nil {
		return err
	}
	key, err := keyfile.ParsePrivateKey(keyFile, data, ui.PasswordFlag(c, "password-file"))
	if err != nil {
		return err
	}
	var pass []byte
	if !c.Bool("no-password") {
		if f := c.String("new-password-file"); f != "" {
			if pass, err = fileutil.ReadPasswordFile(f); err != nil {
				return err
			}
		} else if pass, err = ui.ReadPassword(ui.PasswordFile{}, fmt.Sprintf("Please enter the password to encrypt %s:", out)); err != nil {
			if errors.Is(err, ui.ErrNotTerminal) {
				return errors.New("a new password is required: use --new-password-file, or --no-password --insecure")
			}
			return err
		}
	}
	var block *pem.Block
	if isPKCS8(data) {
		block, err = pemutil.MarshalPKCS8PrivateKey(key, pass)
	} else {
		block, err = pemutil.MarshalPrivateKey(key, pass)
	}
	if err != nil {
		return fmt.Errorf("error serializing private key: %w", err)
	}
	if err := ui.WriteFile(out, pem.EncodeToMemory(block), 0o600, true); err != nil {
		return err
	}
	ui.Printf("Your key has been saved in %s.\n", out)
	return nil
}

// isPKCS8 reports whether data holds a PKCS#8 key ("PRIVATE KEY" or "ENCRYPTED
// PRIVATE KEY"), whose flavour change-pass keeps.
func isPKCS8(data []byte) bool {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return !bytes.Contains(data, []byte("-----BEGIN"))
		}
		switch b.Type {
		case "PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			return true
		case "EC PRIVATE KEY", "RSA PRIVATE KEY", "OPENSSH PRIVATE KEY":
			return false
		}
	}
}

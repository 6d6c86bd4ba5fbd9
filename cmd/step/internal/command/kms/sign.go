package kms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/kmsutil"
)

// maxSignInput bounds what step kms sign reads.
const maxSignInput = 64 << 20

func signCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign data with a key in a key manager",
		UsageText: "**step kms sign** <key-uri> [**--in**=<file>] [**--kms**=<uri>] [**--format**=<format>]",
		ArgsUsage: "<key-uri>",
		Description: `**step kms sign** hashes the input (--in, or stdin) with the key's hash
(SHA-256 for P-256 and RSA, SHA-384 for P-384, SHA-512 for P-521; Ed25519
signs the message) and prints the signature: base64 (default), hex or raw.
ECDSA signatures are ASN.1 DER, RSA ones PKCS #1 v1.5.

    $ step kms sign --kms "$PKCS_URI" --in data.bin "pkcs11:id=7331;object=root-ca"`,
		Flags: []cli.Flag{
			kmsFlag(),
			&cli.StringFlag{Name: "in", Usage: "The `file` to sign (default: stdin)."},
			&cli.StringFlag{Name: "format", Value: "base64", Usage: "The signature `format`: base64, hex, raw."},
		},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 1, 1); err != nil {
				return err
			}
			format := c.String("format")
			if format != "base64" && format != "hex" && format != "raw" {
				return fmt.Errorf("invalid value '%s' for flag '--format'; options are base64, hex, raw", format)
			}
			var r io.Reader = os.Stdin
			if in := c.String("in"); in != "" {
				f, err := os.Open(in)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			data, err := io.ReadAll(io.LimitReader(r, maxSignInput+1))
			if err != nil {
				return err
			}
			if len(data) > maxSignInput {
				return fmt.Errorf("the input is larger than %d bytes", maxSignInput)
			}
			keys := kmsutil.New()
			defer keys.Close()
			signer, err := keys.Signer(c.Context, c.String("kms"), c.Args().First(), "key")
			if err != nil {
				return err
			}
			digest, opts := hashFor(signer.Public(), data)
			sig, err := signer.Sign(rand.Reader, digest, opts)
			if err != nil {
				return err
			}
			switch format {
			case "hex":
				_, err = fmt.Fprintln(c.App.Writer, hex.EncodeToString(sig))
			case "raw":
				_, err = c.App.Writer.Write(sig)
			default:
				_, err = fmt.Fprintln(c.App.Writer, base64.StdEncoding.EncodeToString(sig))
			}
			return err
		},
	}
}

func hashFor(pub crypto.PublicKey, data []byte) ([]byte, crypto.SignerOpts) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return data, crypto.Hash(0)
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 384:
			h := sha512.Sum384(data)
			return h[:], crypto.SHA384
		case 521:
			h := sha512.Sum512(data)
			return h[:], crypto.SHA512
		}
	}
	h := sha256.Sum256(data)
	return h[:], crypto.SHA256
}

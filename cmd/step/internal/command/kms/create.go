package kms

import (
	"encoding/json"
	"encoding/pem"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/kmsutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	mkms "github.com/mayfly-pki/mayfly/kms"
)

func createCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a key pair in a key manager",
		UsageText: "**step kms create** <key-uri> [**--kms**=<uri>] [**--kty**=<type>] [**--crv**=<curve>] [**--size**=<bits>] [**--json**]",
		ArgsUsage: "<key-uri>",
		Description: `**step kms create** creates a key pair named <key-uri> in the key manager
--kms names and prints its public key (PEM), or with --json its name and public key.
Keys are EC P-256 unless --kty/--crv/--size say otherwise.

    $ step kms create --json --kms "pkcs11:module-path=/usr/lib/softhsm/libsofthsm2.so;token=ca?pin-value=1234" "pkcs11:id=7331;object=root-ca"
    $ step kms create --kty RSA --size 3072 ca.key`,
		Flags: []cli.Flag{
			kmsFlag(),
			&cli.StringFlag{Name: "kty", Value: "EC", Usage: "The key `type`: EC, RSA, OKP."},
			&cli.StringFlag{Name: "crv", Aliases: []string{"curve"}, Usage: "The `curve`: P256 (default), P384, P521, Ed25519."},
			&cli.IntFlag{Name: "size", Usage: "The RSA key size in `bits` (default 3072)."},
			&cli.BoolFlag{Name: "json", Usage: "Print the key name and public key as JSON."},
		},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 1, 1); err != nil {
				return err
			}
			alg, err := mkms.AlgorithmFor(c.String("kty"), c.String("crv"))
			if err != nil {
				return err
			}
			if c.IsSet("size") && alg != mkms.SHA256WithRSA {
				return fmt.Errorf("flag '--size' requires '--kty RSA'")
			}
			km, err := kmsutil.Open(c.Context, c.String("kms"))
			if err != nil {
				return err
			}
			defer km.Close()
			resp, err := km.CreateKey(c.Context, mkms.CreateKeyRequest{Name: c.Args().First(), Algorithm: alg, Bits: c.Int("size")})
			if err != nil {
				return err
			}
			return printKey(c, resp.Name, resp.PublicKey, c.Bool("json"))
		},
	}
}

// printKey prints a public key as PEM, or as step-kms-plugin's JSON.
func printKey(c *cli.Context, name string, pub any, asJSON bool) error {
	block, err := pemutil.MarshalPublicKey(pub)
	if err != nil {
		return err
	}
	p := string(pem.EncodeToMemory(block))
	if !asJSON {
		_, err := fmt.Fprint(c.App.Writer, p)
		return err
	}
	b, err := json.MarshalIndent(struct {
		Name      string `json:"name"`
		PublicKey string `json:"publicKey"`
	}{name, p}, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.App.Writer, "%s\n", b)
	return err
}

package crypto

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
)

// Character sets of step crypto rand.
var randAlphabets = map[string]string{
	"alphanumeric": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	"alphabet":     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	"ascii":        "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
	"dec":          "0123456789",
	"hex":          "0123456789abcdef",
}

func randCommand() *cli.Command {
	return &cli.Command{
		Name:      "rand",
		Usage:     "generate random strings",
		UsageText: "**step crypto rand** [<length>] [**--format**=<format>] [**--dictionary**=<file>]",
		ArgsUsage: "[<length>]",
		Description: `**step crypto rand** prints a random string of <length> characters (default
32) from the alphabet of --format: hex (default), alphanumeric, alphabet, ascii,
dec, or raw bytes encoded as base64, base64-url, base64-raw, base64-url-raw.

    $ step crypto rand
    $ step crypto rand 16 --format alphanumeric`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "hex", Usage: "The `format` of the output: hex, alphanumeric, alphabet, ascii, dec, base64, base64-url, base64-raw, base64-url-raw."},
		},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 0, 1); err != nil {
				return err
			}
			n := 32
			if c.NArg() == 1 {
				v, err := strconv.Atoi(c.Args().First())
				if err != nil || v <= 0 {
					return fmt.Errorf("invalid value '%s' for argument <length>; must be a positive integer", c.Args().First())
				}
				n = v
			}
			s, err := randomString(c.String("format"), n)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(c.App.Writer, s)
			return err
		},
	}
}

func randomString(format string, n int) (string, error) {
	if alphabet, ok := randAlphabets[format]; ok {
		out := make([]byte, n)
		max := big.NewInt(int64(len(alphabet)))
		for i := range out {
			k, err := rand.Int(rand.Reader, max)
			if err != nil {
				return "", fmt.Errorf("error generating random data: %w", err)
			}
			out[i] = alphabet[k.Int64()]
		}
		return string(out), nil
	}
	raw := make([]byte, n)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("error generating random data: %w", err)
	}
	switch format {
	case "base64":
		return base64.StdEncoding.EncodeToString(raw), nil
	case "base64-url":
		return base64.URLEncoding.EncodeToString(raw), nil
	case "base64-raw":
		return base64.RawStdEncoding.EncodeToString(raw), nil
	case "base64-url-raw":
		return base64.RawURLEncoding.EncodeToString(raw), nil
	case "raw-hex":
		return hex.EncodeToString(raw), nil
	}
	return "", fmt.Errorf("invalid value '%s' for flag '--format'", format)
}

package crypto

import (
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
)

func jwtVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "verify a signed JWT data structure and return the payload",
		UsageText: "**step crypto jwt verify** **--key**=<file> [**--iss**=<issuer>] [**--aud**=<audience>] [**--alg**=<algorithm>] [**--subtle**] [**--no-exp-check**] [**--password-file**=<file>]",
		Description: `**step crypto jwt verify** reads a JWT on stdin, verifies its signature with
--key (PEM or JWK; a private key's public part is used), checks iss and aud
(required unless --subtle) and exp/nbf/iat with one minute of leeway, and prints
the decoded token as JSON. Failures exit 1.

    $ echo $TOKEN | step crypto jwt verify --key pub.pem --iss joe --aud bob`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "The `file` of the verification key (PEM or JWK)."},
			&cli.StringFlag{Name: "iss", Usage: "The expected `issuer`."},
			&cli.StringFlag{Name: "aud", Usage: "The expected `audience`."},
			&cli.StringFlag{Name: "alg", Usage: "The expected signature `algorithm`."},
			&cli.BoolFlag{Name: "subtle", Usage: "Do not require --iss and --aud."},
			&cli.BoolFlag{Name: "insecure", Usage: "Allow insecure operations."},
			&cli.BoolFlag{Name: "no-exp-check", Usage: "Do not check exp (requires --insecure)."},
			flags.PasswordFile("The path to the `file` containing the password to decrypt the key."),
		},
		Action: jwtVerifyAction,
	}
}

func jwtVerifyAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 0, 0); err != nil {
		return err
	}
	keyFile, err := flags.RequireString(c, "key")
	if err != nil {
		return err
	}
	if c.Bool("no-exp-check") && !c.Bool("insecure") {
		return errors.New("flag '--no-exp-check' requires the '--insecure' flag")
	}
	if !c.Bool("subtle") {
		if c.String("iss") == "" {
			return errors.New("flag '--iss' is required unless '--subtle' is used")
		}
		if c.String("aud") == "" {
			return errors.New("flag '--aud' is required unless '--subtle' is used")
		}
	}
	jwk, err := readJWK(keyFile, ui.PasswordFlag(c, "password-file"))
	if err != nil {
		return err
	}
	pub := jwk.Public()
	if pub.Key == nil {
		pub = *jwk
	}
	tok, err := readToken()
	if err != nil {
		return err
	}
	algs := jwsAlgorithms
	if a := c.String("alg"); a != "" {
		algs = []jose.SignatureAlgorithm{jose.SignatureAlgorithm(a)}
	}
	parsed, err := jwt.ParseSigned(tok, algs)
	if err != nil {
		return fmt.Errorf("error parsing token: %w", err)
	}
	var claims jwt.Claims
	var raw map[string]any
	if err := parsed.Claims(pub.Key, &claims, &raw); err != nil {
		return fmt.Errorf("validation failed: invalid signature: %w", err)
	}
	expected := jwt.Expected{Issuer: c.String("iss"), Time: time.Now()}
	if a := c.String("aud"); a != "" {
		expected.AnyAudience = jwt.Audience{a}
	}
	if c.Bool("no-exp-check") {
		claims.Expiry = nil
	}
	if err := claims.ValidateWithLeeway(expected, jwtLeeway); err != nil {
		return fmt.Errorf("validation failed: %w", err)
	}
	p, err := splitJWT(tok)
	if err != nil {
		return err
	}
	return printJWT(c, p)
}

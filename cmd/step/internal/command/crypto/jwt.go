package crypto

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
)

// jwtLeeway is the clock skew allowed when checking exp, nbf and iat.
const jwtLeeway = time.Minute

var jwsAlgorithms = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512, jose.EdDSA, jose.HS256, jose.HS384, jose.HS512,
}

func jwtCommand() *cli.Command {
	return &cli.Command{
		Name:        "jwt",
		Usage:       "sign and verify data using JSON Web Tokens (JWT)",
		UsageText:   "**step crypto jwt** <subcommand> [arguments] [global-flags] [subcommand-flags]",
		Subcommands: []*cli.Command{jwtSignCommand(), jwtVerifyCommand(), jwtInspectCommand()},
	}
}

func jwtSignCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "create a signed JWT data structure",
		UsageText: "**step crypto jwt sign** [- | <filename>] **--key**=<file> [**--iss**=<issuer>] [**--aud**=<audience>] [**--sub**=<subject>] [**--exp**=<expiration>] [**--nbf**=<not-before>] [**--iat**=<issued-at>] [**--jti**=<jwt-id>] [**--kid**=<kid>] [**--alg**=<algorithm>] [**--header**=<key=value>] [**--password-file**=<file>] [**--subtle**] [**--no-kid**]",
		ArgsUsage: "[- | <filename>]",
		Description: `**step crypto jwt sign** prints a compact JWT signed with --key (PEM key or
JWK, encrypted or not). The optional JSON payload (file, or "-" for stdin) is
merged into the claims. --iss, --aud, --sub and --exp (unix seconds) are required
unless --subtle. nbf and iat default to now, jti to 64 random hex characters; a
single audience is serialized as a string. The header has typ "JWT" and the key's
kid unless --no-kid.

    $ step crypto jwt sign --key priv.pem --iss joe --aud bob --sub hello --exp $(date -d +5min +%s)`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "The `file` of the key to sign with (PEM or JWK)."},
			&cli.StringFlag{Name: "iss", Usage: "The `issuer` claim."},
			&cli.StringSliceFlag{Name: "aud", Usage: "The `audience` claim; repeat for several."},
			&cli.StringFlag{Name: "sub", Usage: "The `subject` claim."},
			&cli.Int64Flag{Name: "exp", Usage: "The expiration `time` (unix seconds)."},
			&cli.Int64Flag{Name: "nbf", Usage: "The not-before `time` (unix seconds); default now."},
			&cli.Int64Flag{Name: "iat", Usage: "The issued-at `time` (unix seconds); default now."},
			&cli.StringFlag{Name: "jti", Usage: "The JWT `id`; default random."},
			&cli.StringFlag{Name: "kid", Usage: "The `kid` header value."},
			&cli.StringFlag{Name: "alg", Usage: "The signature `algorithm`; default from the key."},
			&cli.StringSliceFlag{Name: "header", Usage: "Add a `key=value` header; repeat for several."},
			flags.PasswordFile("The path to the `file` containing the password to decrypt the key."),
			&cli.BoolFlag{Name: "subtle", Usage: "Allow a token without iss, aud, sub or exp."},
			&cli.BoolFlag{Name: "no-kid", Usage: "Do not add the kid header."},
		},
		Action: jwtSignAction,
	}
}

func jwtSignAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 0, 1); err != nil {
		return err
	}
	keyFile, err := flags.RequireString(c, "key")
	if err != nil {
		return err
	}
	jwk, err := readJWK(keyFile, ui.PasswordFlag(c, "password-file"))
	if err != nil {
		return err
	}
	if jwk.IsPublic() {
		return errors.New("cannot use a public key for signing")
	}
	if jwk.Use != "" && jwk.Use != "sig" {
		return fmt.Errorf("invalid jwk use: found '%s', expecting 'sig' (signature)", jwk.Use)
	}
	alg := c.String("alg")
	if alg == "" {
		alg = jwk.Algorithm
	}
	if alg == "" {
		if alg, err = algFor(jwk.Key); err != nil {
			return fmt.Errorf("flag '--alg' is required with the given key")
		}
	}
	kid := jwk.KeyID
	if c.String("kid") != "" {
		kid = c.String("kid")
	}

	now := time.Now()
	claims := map[string]any{}
	if c.NArg() == 1 || !ui.IsTerminal() && stdinHasData() {
		payload, err := readJSONPayload(c.Args().First())
		if err != nil {
			return err
		}
		for k, v := range payload {
			claims[k] = v
		}
	}
	set := func(k string, v any) { claims[k] = v }
	if v := c.String("iss"); v != "" {
		set("iss", v)
	}
	if v := c.String("sub"); v != "" {
		set("sub", v)
	}
	switch aud := c.StringSlice("aud"); len(aud) {
	case 0:
	case 1:
		set("aud", aud[0])
	default:
		set("aud", aud)
	}
	if c.IsSet("exp") {
		set("exp", c.Int64("exp"))
	}
	set("nbf", now.Unix())
	if c.IsSet("nbf") {
		set("nbf", c.Int64("nbf"))
	}
	set("iat", now.Unix())
	if c.IsSet("iat") {
		set("iat", c.Int64("iat"))
	}
	jti := c.String("jti")
	if jti == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("error generating random JWT ID: %w", err)
		}
		jti = hex.EncodeToString(b)
	}
	set("jti", jti)
	if !c.Bool("subtle") {
		switch {
		case claims["iss"] == nil:
			return errors.New("flag '--iss' is required unless '--subtle' is used")
		case claims["aud"] == nil:
			return errors.New("flag '--aud' is required unless '--subtle' is used")
		case claims["sub"] == nil:
			return errors.New("flag '--sub' is required unless '--subtle' is used")
		case !c.IsSet("exp"):
			return errors.New("flag '--exp' is required unless '--subtle' is used")
		case time.Unix(c.Int64("exp"), 0).Before(now):
			return errors.New("flag '--exp' must be in the future unless '--subtle' is used")
		}
	}

	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" && !c.Bool("no-kid") {
		opts = opts.WithHeader("kid", kid)
	}
	for _, h := range c.StringSlice("header") {
		k, v, ok := strings.Cut(h, "=")
		if !ok || k == "" {
			return fmt.Errorf("invalid value '%s' for flag '--header'; expected key=value", h)
		}
		opts = opts.WithHeader(jose.HeaderKey(k), v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jwk.Key}, opts)
	if err != nil {
		return fmt.Errorf("error creating JWT signer: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return fmt.Errorf("error encoding JWT claims: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return fmt.Errorf("error signing JWT: %w", err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		return fmt.Errorf("error serializing JWT: %w", err)
	}
	_, err = fmt.Fprintln(c.App.Writer, raw)
	return err
}

func stdinHasData() bool {
	st, err := os.Stdin.Stat()
	if err != nil {
		return false
	}
	return st.Mode()&os.ModeNamedPipe != 0 || st.Size() > 0
}

func readJSONPayload(file string) (map[string]any, error) {
	data, err := ui.ReadInput(file)
	if err != nil {
		return nil, err
	}
	v := map[string]any{}
	if len(bytes.TrimSpace(data)) == 0 {
		return v, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		name := file
		if name == "" || name == "-" {
			name = "STDIN"
		}
		return nil, fmt.Errorf("error decoding JSON from %s: %w", name, err)
	}
	return v, nil
}

// jwtParts is the JSON that jwt inspect and verify print.
type jwtParts struct {
	Header    map[string]any `json:"header"`
	Payload   any            `json:"payload"`
	Signature string         `json:"signature"`
}

func splitJWT(token string) (*jwtParts, error) {
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return nil, errors.New("error parsing token: compact JWS format must have three parts")
	}
	out := &jwtParts{Signature: parts[2]}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("error parsing token header: %w", err)
	}
	if err := json.Unmarshal(hb, &out.Header); err != nil {
		return nil, fmt.Errorf("error parsing token header: %w", err)
	}
	pb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("error parsing token payload: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(pb))
	dec.UseNumber()
	var payload map[string]any
	if err := dec.Decode(&payload); err != nil {
		out.Payload = string(pb)
	} else {
		out.Payload = payload
	}
	return out, nil
}

func printJWT(c *cli.Context, p *jwtParts) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.App.Writer, string(b))
	return err
}

func readToken() (string, error) {
	b, err := ui.ReadInput("-")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func jwtInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "return the decoded JWT without verification",
		UsageText: "**step crypto jwt inspect** **--insecure**",
		Description: `**step crypto jwt inspect** reads a JWT on stdin and prints its header,
payload and signature as JSON, without verifying it (hence --insecure).

    $ echo $TOKEN | step crypto jwt inspect --insecure`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "insecure", Usage: "Required: the token is not verified."}},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 0, 0); err != nil {
				return err
			}
			if !c.Bool("insecure") {
				return errors.New("'step crypto jwt inspect' requires the '--insecure' flag")
			}
			tok, err := readToken()
			if err != nil {
				return err
			}
			p, err := splitJWT(tok)
			if err != nil {
				return err
			}
			return printJWT(c, p)
		},
	}
}

package crypto

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
)

var (
	jweKeyAlgs = []jose.KeyAlgorithm{
		jose.ECDH_ES, jose.ECDH_ES_A128KW, jose.ECDH_ES_A192KW, jose.ECDH_ES_A256KW,
		jose.RSA_OAEP, jose.RSA_OAEP_256, jose.A128KW, jose.A192KW, jose.A256KW, jose.DIRECT,
		jose.A128GCMKW, jose.A192GCMKW, jose.A256GCMKW,
	}
	jweEncs = []jose.ContentEncryption{jose.A128GCM, jose.A192GCM, jose.A256GCM, jose.A128CBC_HS256, jose.A192CBC_HS384, jose.A256CBC_HS512}
)

func jweCommand() *cli.Command {
	return &cli.Command{
		Name:        "jwe",
		Usage:       "encrypt and decrypt data and keys using JSON Web Encryption (JWE)",
		UsageText:   "**step crypto jwe** <subcommand> [arguments] [global-flags] [subcommand-flags]",
		Subcommands: []*cli.Command{jweEncryptCommand(), jweDecryptCommand()},
	}
}

func jweEncryptCommand() *cli.Command {
	return &cli.Command{
		Name:      "encrypt",
		Usage:     "encrypt a payload using JSON Web Encryption (JWE)",
		UsageText: "**step crypto jwe encrypt** **--key**=<file> [**--alg**=<algorithm>] [**--enc**=<encryption>] [**--kid**=<kid>] [**--typ**=<type>] [**--cty**=<content-type>] [**--subtle**] < <plaintext>",
		Description: `**step crypto jwe encrypt** encrypts stdin to the public key of --key (PEM or
JWK) and prints the JWE in JSON serialization. The key algorithm defaults to
ECDH-ES for EC keys and RSA-OAEP-256 for RSA keys, the content encryption to
A256GCM. A JWK whose use is "sig" needs --subtle.

    $ echo secret | step crypto jwe encrypt --key pub.json > secret.jwe`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "The `file` of the recipient's key (PEM or JWK)."},
			&cli.StringFlag{Name: "alg", Usage: "The key management `algorithm`."},
			&cli.StringFlag{Name: "enc", Value: "A256GCM", Usage: "The content encryption `algorithm`."},
			&cli.StringFlag{Name: "kid", Usage: "The `kid` header; defaults to the key's kid."},
			&cli.StringFlag{Name: "typ", Usage: "The `typ` header."},
			&cli.StringFlag{Name: "cty", Usage: "The `cty` header."},
			&cli.BoolFlag{Name: "subtle", Usage: "Allow a key whose use is not 'enc'."},
		},
		Action: jweEncryptAction,
	}
}

func jweEncryptAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 0, 0); err != nil {
		return err
	}
	keyFile, err := flags.RequireString(c, "key")
	if err != nil {
		return err
	}
	jwk, err := readJWK(keyFile, ui.PasswordFile{})
	if err != nil {
		return err
	}
	if jwk.Use != "" && jwk.Use != "enc" && !c.Bool("subtle") {
		return fmt.Errorf("invalid jwk use: found '%s', expecting 'enc' (encryption)", jwk.Use)
	}
	var pub any = jwk.Key
	if s, ok := jwk.Key.(crypto.Signer); ok {
		pub = s.Public()
	}
	alg := jose.KeyAlgorithm(c.String("alg"))
	if alg == "" {
		switch pub.(type) {
		case *ecdsa.PublicKey:
			alg = jose.ECDH_ES
		case *rsa.PublicKey:
			alg = jose.RSA_OAEP_256
		default:
			return fmt.Errorf("flag '--alg' is required for a %T key", pub)
		}
	}
	opts := &jose.EncrypterOptions{}
	if t := c.String("typ"); t != "" {
		opts = opts.WithType(jose.ContentType(t))
	}
	if t := c.String("cty"); t != "" {
		opts = opts.WithContentType(jose.ContentType(t))
	}
	kid := jwk.KeyID
	if k := c.String("kid"); k != "" {
		kid = k
	}
	enc, err := jose.NewEncrypter(jose.ContentEncryption(c.String("enc")), jose.Recipient{Algorithm: alg, Key: pub, KeyID: kid}, opts)
	if err != nil {
		return fmt.Errorf("error creating encrypter: %w", err)
	}
	plain, err := ui.ReadInput("-")
	if err != nil {
		return err
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		return fmt.Errorf("error encrypting data: %w", err)
	}
	_, err = fmt.Fprintln(c.App.Writer, obj.FullSerialize())
	return err
}

func jweDecryptCommand() *cli.Command {
	return &cli.Command{
		Name:      "decrypt",
		Usage:     "verify a JWE and decrypt ciphertext",
		UsageText: "**step crypto jwe decrypt** **--key**=<file> [**--password-file**=<file>] < <jwe>",
		Description: `**step crypto jwe decrypt** reads a JWE (JSON or compact serialization) on stdin,
decrypts it with the private key of --key (PEM or JWK, encrypted or not) and
prints the plaintext.

    $ step crypto jwe decrypt --key priv.json < secret.jwe`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "The `file` of the private key (PEM or JWK)."},
			flags.PasswordFile("The path to the `file` containing the password to decrypt the key."),
		},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 0, 0); err != nil {
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
				return fmt.Errorf("%s is a public key: decryption needs the private key", keyFile)
			}
			in, err := ui.ReadInput("-")
			if err != nil {
				return err
			}
			obj, err := jose.ParseEncrypted(strings.TrimSpace(string(in)), jweKeyAlgs, jweEncs)
			if err != nil {
				return fmt.Errorf("error parsing JWE: %w", err)
			}
			plain, err := obj.Decrypt(jwk.Key)
			if err != nil {
				return fmt.Errorf("error decrypting JWE: %w", err)
			}
			_, err = c.App.Writer.Write(plain)
			return err
		},
	}
}

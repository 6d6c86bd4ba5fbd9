// Package oauth is `step oauth`: an OAuth 2.0 / OpenID Connect login that
// prints the provider's tokens.
package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/oauthflow"
)

// Command returns `step oauth`.
func Command() *cli.Command {
	return &cli.Command{
		Name:      "oauth",
		Usage:     "authorization and single sign-on using OAuth & OIDC",
		UsageText: "step oauth --provider <url> --client-id <id> [--client-secret <secret>] [--scope <scope> ...] [--auth-param <key=value> ...] [--listen <address>] [--console] [--email <email>] [--oidc] [--bare]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "provider", Aliases: []string{"idp"}, Usage: "The OpenID provider's configuration endpoint or issuer `url`."},
			&cli.StringFlag{Name: "client-id", Usage: "The OAuth client `id`."},
			&cli.StringFlag{Name: "client-secret", Usage: "The OAuth client `secret`."},
			&cli.StringSliceFlag{Name: "scope", Usage: "An OAuth `scope` to ask for (default: openid, email); repeat for more."},
			&cli.StringSliceFlag{Name: "auth-param", Usage: "An extra `key=value` parameter of the authorization request; repeat for more."},
			&cli.StringFlag{Name: "listen", Usage: "The `address` of the redirect listener (default: an ephemeral port on 127.0.0.1)."},
			&cli.BoolFlag{Name: "console", Usage: "Complete the flow without a browser: print the URL and read the code from the terminal."},
			&cli.StringFlag{Name: "email", Aliases: []string{"e"}, Usage: "The `email` to sign in as (sent as login_hint)."},
			&cli.BoolFlag{Name: "oidc", Usage: "Print the OIDC ID token (with --bare) rather than the access token."},
			&cli.BoolFlag{Name: "bare", Usage: "Print only the token."},
		},
		Action: action,
	}
}

func action(c *cli.Context) error {
	if err := app.CheckArgs(c, 0, 0); err != nil {
		return err
	}
	if c.String("provider") == "" {
		return errors.New("flag '--provider' is required")
	}
	if c.String("client-id") == "" {
		return errors.New("flag '--client-id' is required")
	}
	r, err := oauthflow.Run(c.Context, oauthflow.Options{
		Provider: c.String("provider"), ClientID: c.String("client-id"), ClientSecret: c.String("client-secret"),
		Scopes: c.StringSlice("scope"), AuthParams: c.StringSlice("auth-param"), Listen: c.String("listen"),
		Console: c.Bool("console"), LoginHint: c.String("email"), In: os.Stdin, Out: os.Stderr,
	})
	if err != nil {
		return err
	}
	if c.Bool("bare") {
		if c.Bool("oidc") {
			fmt.Println(r.IDToken)
		} else {
			fmt.Println(r.AccessToken)
		}
		return nil
	}
	out := map[string]any{"access_token": r.AccessToken, "id_token": r.IDToken, "token_type": r.TokenType}
	if r.RefreshToken != "" {
		out["refresh_token"] = r.RefreshToken
	}
	if r.ExpiresIn != 0 {
		out["expires_in"] = r.ExpiresIn
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

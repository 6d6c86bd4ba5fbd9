package ssh

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	caCmd "github.com/mayfly-pki/mayfly/cmd/step/internal/command/ca"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
	"github.com/mayfly-pki/mayfly/ssh/krl"
)

func krlCommand() *cli.Command {
	return &cli.Command{
		Name:  "krl",
		Usage: "download the SSH key revocation list of the CA",
		UsageText: `step ssh krl [--out <file>]

Fetches the OpenSSH key revocation list (KRL) of every revoked, unexpired
certificate from GET /ssh/krl. With --out the list replaces <file>
atomically, and only when it changed: sshd reads it on every login when
sshd_config has "RevokedKeys <file>". Without --out it is written to
standard output.`,
		Flags: []cli.Flag{
			flags.CaURL(), flags.Root(), flags.Context(),
			&cli.StringFlag{Name: "out", Usage: "Write the list to `file` (atomically, when it changed)."},
		},
		Action: krlAction,
	}
}

// etagOf is the ETag Mayfly's CA gives body: its SHA-256, 16 bytes, hex.
func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

func krlAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 0, 0); err != nil {
		return err
	}
	out := c.String("out")
	var current []byte
	if out != "" {
		b, err := os.ReadFile(out)
		switch {
		case err == nil:
			current = b
		case errors.Is(err, fs.ErrNotExist):
		default:
			return fmt.Errorf("error reading %s: %w", out, err)
		}
	}
	cl, _, err := caCmd.NewClient(c)
	if err != nil {
		return err
	}
	ctx, cancel := timeoutCtx(c)
	defer cancel()
	etag := ""
	if current != nil {
		etag = etagOf(current)
	}
	res, err := cl.SSHKRL(ctx, etag)
	if err != nil {
		return err
	}
	if res.NotModified {
		fmt.Fprintf(os.Stderr, "The key revocation list in %s is up to date.\n", out)
		return nil
	}
	list, err := krl.Parse(res.Body)
	if err != nil {
		return fmt.Errorf("the CA answered a key revocation list that does not parse, %s is unchanged: %w", out, err)
	}
	if out == "" {
		_, err := os.Stdout.Write(res.Body)
		return err
	}
	if bytes.Equal(current, res.Body) {
		fmt.Fprintf(os.Stderr, "The key revocation list in %s is up to date.\n", out)
		return nil
	}
	if err := fileutil.WriteFile(out, res.Body, 0o644); err != nil {
		return err
	}
	n := 0
	for _, s := range list.Certs {
		n = max(n, len(s.Serials))
	}
	fmt.Fprintf(os.Stderr, "The key revocation list (%d revoked certificates) has been saved in %s.\n", n, out)
	return nil
}

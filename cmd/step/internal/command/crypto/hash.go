package crypto

import (
	"crypto/hmac"
	"crypto/md5"  //nolint:gosec // offered like step, with --insecure
	"crypto/sha1" //nolint:gosec // offered like step
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
)

func hashCommand() *cli.Command {
	algFlag := func() cli.Flag {
		return &cli.StringFlag{Name: "alg", Value: "sha256", Usage: "The hash `algorithm`: sha1, sha224, sha256 (default), sha384, sha512, sha512-224, sha512-256, md5 (requires --insecure)."}
	}
	return &cli.Command{
		Name:      "hash",
		Usage:     "generate and check hashes of files and directories",
		UsageText: "**step crypto hash** <subcommand> [arguments] [global-flags] [subcommand-flags]",
		Subcommands: []*cli.Command{
			{
				Name:      "digest",
				Usage:     "generate a hash digest of a file or directory",
				UsageText: "**step crypto hash digest** <file-or-directory>... [**--alg**=<algorithm>]",
				ArgsUsage: "<file-or-directory>...",
				Description: `**step crypto hash digest** prints "<hex digest>  <name>" for each file; a
directory is hashed as the digest of its files' digests in name order. Without
arguments it reads stdin.

    $ step crypto hash digest foo.txt
    $ step crypto hash digest --alg sha512 foo.txt bar.txt`,
				Flags:  []cli.Flag{algFlag(), &cli.BoolFlag{Name: "insecure", Usage: "Allow md5."}},
				Action: hashDigestAction,
			},
			{
				Name:      "compare",
				Usage:     "verify the hash digest for a file or directory matches an expected value",
				UsageText: "**step crypto hash compare** <hash> <file-or-directory> [**--alg**=<algorithm>]",
				ArgsUsage: "<hash> <file-or-directory>",
				Description: `**step crypto hash compare** prints "ok" and exits 0 when the digest matches,
else prints "fail" and exits 1.

    $ step crypto hash compare 2c26b4... foo.txt`,
				Flags:  []cli.Flag{algFlag(), &cli.BoolFlag{Name: "insecure", Usage: "Allow md5."}},
				Action: hashCompareAction,
			},
		},
	}
}

func newHash(c *cli.Context) (func() hash.Hash, error) {
	switch strings.ToLower(c.String("alg")) {
	case "sha1":
		return sha1.New, nil
	case "sha224":
		return sha256.New224, nil
	case "", "sha256":
		return sha256.New, nil
	case "sha384":
		return sha512.New384, nil
	case "sha512":
		return sha512.New, nil
	case "sha512-224":
		return sha512.New512_224, nil
	case "sha512-256":
		return sha512.New512_256, nil
	case "md5":
		if !c.Bool("insecure") {
			return nil, fmt.Errorf("flag '--alg md5' requires the '--insecure' flag")
		}
		return md5.New, nil
	}
	return nil, fmt.Errorf("invalid value '%s' for flag '--alg'", c.String("alg"))
}

// digestPath hashes a file, or a directory as the hash of its entries' digests.
func digestPath(h func() hash.Hash, path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if !st.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		defer f.Close()
		d := h()
		if _, err := io.Copy(d, f); err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		return d.Sum(nil), nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	d := h()
	for _, n := range names {
		sum, err := digestPath(h, filepath.Join(path, n))
		if err != nil {
			return nil, err
		}
		d.Write(sum)
	}
	return d.Sum(nil), nil
}

func hashDigestAction(c *cli.Context) error {
	h, err := newHash(c)
	if err != nil {
		return err
	}
	if c.NArg() == 0 {
		d := h()
		if _, err := io.Copy(d, os.Stdin); err != nil {
			return fmt.Errorf("reading standard input: %w", err)
		}
		_, err = fmt.Fprintf(c.App.Writer, "%x  -\n", d.Sum(nil))
		return err
	}
	for _, p := range c.Args().Slice() {
		sum, err := digestPath(h, p)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(c.App.Writer, "%x  %s\n", sum, p); err != nil {
			return err
		}
	}
	return nil
}

func hashCompareAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 2, 2); err != nil {
		return err
	}
	h, err := newHash(c)
	if err != nil {
		return err
	}
	want, err := hex.DecodeString(strings.TrimSpace(c.Args().Get(0)))
	if err != nil {
		return fmt.Errorf("invalid hash %q: not hexadecimal", c.Args().Get(0))
	}
	sum, err := digestPath(h, c.Args().Get(1))
	if err != nil {
		return err
	}
	if hmac.Equal(sum, want) {
		_, err = fmt.Fprintln(c.App.Writer, "ok")
		return err
	}
	return cli.Exit("fail", 1)
}

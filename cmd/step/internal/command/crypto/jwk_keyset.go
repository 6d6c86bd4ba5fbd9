package crypto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
	stepjose "github.com/mayfly-pki/mayfly/internal/jose"
)

func jwkKeysetCommand() *cli.Command {
	return &cli.Command{
		Name:      "keyset",
		Usage:     "add, remove, and find JWKs in JWK Sets",
		UsageText: "**step crypto jwk keyset** <subcommand> [arguments] [global-flags] [subcommand-flags]",
		Description: `**step crypto jwk keyset** manages JWK Sets (RFC 7517 §5): a JSON object
whose "keys" member is an array of JWKs. Other members of the object are kept
as they are. A missing or empty file is an empty set.

    $ cat pub.json | step crypto jwk keyset add ks.json
    $ step crypto jwk keyset list ks.json
    $ step crypto jwk keyset find ks.json --kid <kid>
    $ step crypto jwk keyset remove ks.json --kid <kid>`,
		Subcommands: []*cli.Command{
			jwkKeysetAddCommand(),
			jwkKeysetRemoveCommand(),
			jwkKeysetListCommand(),
			jwkKeysetFindCommand(),
		},
	}
}

func kidFlag(usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: "kid", Usage: usage}
}

func jwkKeysetAddCommand() *cli.Command {
	return &cli.Command{
		Name:      "add",
		Usage:     "a JWK to a JWK Set",
		UsageText: "**step crypto jwk keyset add** <jwks-file> [**--password-file**=<file>]",
		ArgsUsage: "<jwks-file>",
		Description: `**step crypto jwk keyset add** reads a JWK from STDIN and appends it to the
JWK Set in <jwks-file>, creating the file (mode 0600) when it does not exist.
An encrypted JWK is decrypted first, with the password of --password-file.
As in step, a key whose "kid" is already in the set is added too: RFC 7517
§4.5 lets keys share a "kid".

The file is rewritten atomically; concurrent changes are serialized with a
lock on its directory.

    $ cat pub.json | step crypto jwk keyset add ks.json`,
		Flags:  []cli.Flag{flags.PasswordFile("The path to the `file` containing the password to decrypt an encrypted JWK.")},
		Action: jwkKeysetAddAction,
	}
}

func jwkKeysetAddAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	jwk, err := readKeysetInput(ui.PasswordFlag(c, "password-file"))
	if err != nil {
		return err
	}
	return updateKeySet(c.Args().First(), func(ks *keySet) bool {
		ks.keys = append(ks.keys, *jwk)
		return true
	})
}

// readKeysetInput reads the JWK to add from stdin: a plain JWK, or a JWE (compact
// or JSON) holding one.
func readKeysetInput(pw ui.PasswordFile) (*jose.JSONWebKey, error) {
	data, err := ui.ReadInput("-")
	if err != nil {
		return nil, err
	}
	if compact, ok := jweCompact(bytes.TrimSpace(data)); ok {
		pass, err := ui.ReadPassword(pw, "Please enter the password to decrypt JWK:")
		if err != nil {
			return nil, fmt.Errorf("cannot decrypt the JWK: %w", err)
		}
		jwk, err := stepjose.DecryptJWK(compact, pass)
		if err != nil {
			return nil, fmt.Errorf("error decrypting the JWK: %w", err)
		}
		return jwk, nil
	}
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(data, &jwk); err != nil {
		return nil, fmt.Errorf("error reading JWK: unsupported format: %w", err)
	}
	return &jwk, nil
}

func jwkKeysetRemoveCommand() *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Usage:     "a JWK from a JWK Set",
		UsageText: "**step crypto jwk keyset remove** <jwks-file> [**--kid**=<kid>]",
		ArgsUsage: "<jwks-file>",
		Description: `**step crypto jwk keyset remove** removes every JWK whose "kid" is <kid>
from the JWK Set in <jwks-file>. The file is rewritten atomically, and left as
it is when no key matches. As in step, without --kid the keys that have no
"kid" are removed.

    $ step crypto jwk keyset remove ks.json --kid ZI9Ku2jJQL84ewxVn8C_67iDaTN_DFTXE9Gypo6-3YE`,
		Flags:  []cli.Flag{kidFlag("The key ID of the JWK to remove from the JWK Set. <kid> is a case-sensitive string.")},
		Action: jwkKeysetRemoveAction,
	}
}

func jwkKeysetRemoveAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	kid := c.String("kid")
	return updateKeySet(c.Args().First(), func(ks *keySet) bool {
		kept := ks.keys[:0]
		for _, k := range ks.keys {
			if k.KeyID != kid {
				kept = append(kept, k)
			}
		}
		changed := len(kept) != len(ks.keys)
		ks.keys = kept
		return changed
	})
}

func jwkKeysetListCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "key IDs of JWKs in a JWK Set",
		UsageText: "**step crypto jwk keyset list** <jwks-file>",
		ArgsUsage: "<jwks-file>",
		Description: `**step crypto jwk keyset list** prints the "kid" of each JWK in the JWK Set,
one a line, in the order of the set (an empty line for a key without one).

    $ step crypto jwk keyset list ks.json`,
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 1, 1); err != nil {
				return err
			}
			ks, err := readKeySetFile(c.Args().First())
			if err != nil {
				return err
			}
			for _, k := range ks.keys {
				if _, err := fmt.Fprintln(c.App.Writer, k.KeyID); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func jwkKeysetFindCommand() *cli.Command {
	return &cli.Command{
		Name:      "find",
		Usage:     "a JWK in a JWK Set",
		UsageText: "**step crypto jwk keyset find** <jwks-file> [**--kid**=<kid>]",
		ArgsUsage: "<jwks-file>",
		Description: `**step crypto jwk keyset find** prints, as indented JSON, every JWK of the
JWK Set in <jwks-file> whose "kid" is <kid>. Nothing is printed when none
matches.

    $ step crypto jwk keyset find ks.json --kid L38TOXsig8h6FeBOos03nFy6iXmwusFcIBBB0ZilahY`,
		Flags: []cli.Flag{kidFlag("The key ID of the JWK to locate in the JWK Set. <kid> is a case-sensitive string.")},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 1, 1); err != nil {
				return err
			}
			ks, err := readKeySetFile(c.Args().First())
			if err != nil {
				return err
			}
			kid := c.String("kid")
			for _, k := range ks.keys {
				if k.KeyID != kid {
					continue
				}
				b, err := json.MarshalIndent(k, "", "  ")
				if err != nil {
					return fmt.Errorf("error marshaling JWK: %w", err)
				}
				if _, err := fmt.Fprintln(c.App.Writer, string(b)); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// keySet is a parsed JWK Set file: its keys, and the other members of the
// object, kept as they were.
type keySet struct {
	keys  []jose.JSONWebKey
	extra map[string]json.RawMessage
}

// parseKeySet parses the content of a JWK Set file. Empty content (or {}) is an
// empty set; anything but a JSON object with a "keys" array of JWKs is an error
// that names file.
func parseKeySet(file string, data []byte) (*keySet, error) {
	ks := &keySet{extra: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(data)) == 0 {
		return ks, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil || members == nil {
		return nil, fmt.Errorf("error reading %s: not a JWK Set (a JSON object with a \"keys\" array)", file)
	}
	rawKeys, ok := members["keys"]
	if !ok && len(members) > 0 {
		return nil, fmt.Errorf("error reading %s: not a JWK Set: no \"keys\" member", file)
	}
	delete(members, "keys")
	ks.extra = members
	var raws []json.RawMessage
	if ok {
		if err := json.Unmarshal(rawKeys, &raws); err != nil {
			return nil, fmt.Errorf("error reading %s: not a JWK Set: \"keys\" is not an array", file)
		}
	}
	for i, raw := range raws {
		var k jose.JSONWebKey
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, fmt.Errorf("error reading %s: key %d: %w", file, i, err)
		}
		ks.keys = append(ks.keys, k)
	}
	return ks, nil
}

// marshal renders the set as step writes it: indented JSON, "keys" an array
// (never null), the other members beside it.
func (ks *keySet) marshal() ([]byte, error) {
	obj := make(map[string]any, len(ks.extra)+1)
	for name, v := range ks.extra {
		obj[name] = v
	}
	keys := ks.keys
	if keys == nil {
		keys = []jose.JSONWebKey{}
	}
	obj["keys"] = keys
	b, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// hasPrivate reports whether any key of the set holds private material.
func (ks *keySet) hasPrivate() bool {
	for _, k := range ks.keys {
		if !k.IsPublic() {
			return true
		}
	}
	return false
}

// readKeySetFile reads and parses a JWK Set file; a missing file is an empty
// set (and is not created).
func readKeySetFile(file string) (*keySet, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return &keySet{extra: map[string]json.RawMessage{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", file, errors.Unwrap(err))
	}
	return parseKeySet(file, data)
}

// updateKeySet applies change to the JWK Set in file and writes the result
// atomically (temp file, fsync, rename) when change reports a change. It holds
// an exclusive lock on the file's directory from the read to the rename, so
// concurrent updates are applied one after the other instead of losing one.
// A symlink is followed: its target is replaced. A new file gets mode 0600; an
// existing one keeps its mode, without group/other access once the set holds a
// private key. On any error the file is left as it was.
func updateKeySet(file string, change func(*keySet) bool) error {
	path := file
	if p, err := filepath.EvalSymlinks(file); err == nil {
		path = p
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("error reading %s: %w", file, errors.Unwrap(err))
	}
	unlock, err := lockDir(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("error locking %s: %w", file, err)
	}
	defer unlock()

	perm := os.FileMode(0o600)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("error reading %s: %w", file, errors.Unwrap(err))
		}
		perm = st.Mode().Perm()
	case errors.Is(err, fs.ErrNotExist):
	default:
		return fmt.Errorf("error reading %s: %w", file, errors.Unwrap(err))
	}
	ks, err := parseKeySet(file, data)
	if err != nil {
		return err
	}
	if !change(ks) {
		return nil
	}
	if ks.hasPrivate() {
		perm &^= 0o077
	}
	out, err := ks.marshal()
	if err != nil {
		return fmt.Errorf("error marshaling %s: %w", file, err)
	}
	return fileutil.WriteFile(path, out, perm)
}

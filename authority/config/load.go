package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"

	"github.com/mayfly-pki/mayfly/internal/fileutil"
)

// Load reads and parses a ca.json file: see Parse. Read errors name the path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA configuration: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes data (name is used in messages, normally the file path),
// applies Defaults and validates.
//
// Errors:
//   - *SyntaxError for malformed JSON ("/p/ca.json:12:5: invalid character ..."),
//     including content after the top-level object (which step-ca's streaming
//     decoder would silently ignore);
//   - *ValidationError listing every type error with its JSON path
//     ("authority.claims.maxTLSCertDuration: invalid duration \"abc\""), or,
//     when decoding succeeded, every problem Validate found.
//
// On a *ValidationError from Validate the decoded, defaulted config is returned
// alongside the error (so callers may still report UnknownKeys); on any other
// error the config is nil.
func Parse(data []byte, name string) (*Config, error) {
	c, err := Decode(data, name)
	if err != nil {
		return nil, err
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// Decode decodes data into a Config without applying defaults or validating.
// Unknown keys are collected into UnknownKeys. Errors are as for Parse.
func Decode(data []byte, name string) (*Config, error) {
	c, problems, err := decodeAll(data, name)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, &ValidationError{File: name, Problems: problems}
	}
	return c, nil
}

// decodeAll decodes what it can: every value that has the right JSON type
// is set, the others are left zero and listed in problems. err is a
// *SyntaxError only.
func decodeAll(data []byte, name string) (*Config, []Problem, error) {
	if err := checkSyntax(data, name); err != nil {
		return nil, nil, err
	}
	c := new(Config)
	d := new(decoder)
	d.value("", data, reflect.ValueOf(c).Elem())
	c.UnknownKeys = d.unknown
	c.source = name
	c.raw = bytes.Clone(data)
	return c, d.problems, nil
}

// AsLoaded returns a fresh copy of the config exactly as it was read by
// Load/Parse/Decode, without defaults and without later changes, so that
// Save(path, c.AsLoaded(), ...) writes back the file's content (in step's
// layout). It returns nil for a config that was not decoded from bytes.
func (c *Config) AsLoaded() *Config {
	if c.raw == nil {
		return nil
	}
	fresh, err := Decode(c.raw, c.source)
	if err != nil {
		// Unreachable: these bytes decoded before.
		return nil
	}
	return fresh
}

// Marshal encodes c the way step writes ca.json: tab indentation, key order
// of the structs, and a trailing newline only when trailingNewline is set.
// Unlike step, '&', '<' and '>' are written as is rather than as \u0026...
// (same JSON value; DSNs and KMS URIs stay readable).
func Marshal(c *Config, trailingNewline bool) ([]byte, error) {
	if c == nil {
		return nil, errors.New("encode CA configuration: nil config")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "\t")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode CA configuration: %w", err)
	}
	out := b.Bytes()
	if !trailingNewline {
		out = bytes.TrimSuffix(out, []byte("\n"))
	}
	return out, nil
}

// Save writes c to path atomically (temp file in the same directory, fsync,
// rename). An existing file keeps its permission bits; a new file gets 0644.
// `step ca init` writes no trailing newline; `step ca provisioner add/remove`
// rewrites add one. Errors name the path.
func Save(path string, c *Config, trailingNewline bool) error {
	data, err := Marshal(c, trailingNewline)
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return writeKeepingMode(path, data, 0o644)
}

// writeKeepingMode writes data atomically, keeping path's current permission
// bits when it exists and using perm otherwise.
func writeKeepingMode(path string, data []byte, perm fs.FileMode) error {
	if st, err := os.Stat(path); err == nil {
		perm = st.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := fileutil.WriteFile(path, data, perm); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

package ca

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/internal/steppath"
)

// This file holds what `step ca provisioner add|remove|update` share to edit
// ca.json in place (wire-spec §1.3 "Rewrite"): load it with step-ca's
// defaults, find a provisioner by name, validate the edited configuration and
// write it back atomically, keeping the file mode.

// errRemoteManagement is returned when ca.json delegates provisioners to the
// database (authority.enableAdmin), which needs the admin API.
var errRemoteManagement = errors.New("ca.json delegates provisioners to the admin API (authority.enableAdmin)")

// provisionerSuccess is printed (stderr) after ca.json was rewritten, as step does.
const provisionerSuccess = "Success! Your `step-ca` config has been updated. To pick up the new configuration SIGHUP (kill -1 <pid>) or restart the step-ca process."

// caConfigPath returns --ca-config (which defaults.json usually sets), else
// $(step path)/config/ca.json.
func caConfigPath(c *cli.Context) (string, error) {
	if p := c.String("ca-config"); p != "" {
		return p, nil
	}
	return steppath.Join("config", "ca.json")
}

// loadCAConfig loads the ca.json the command edits, with step-ca's load-time
// defaults applied (what step writes back). Malformed JSON and type errors
// are errors; so is authority.enableAdmin. When the file decodes but has
// other problems, strict makes that an error listing every problem; without
// strict the config is returned so that the edit can fix them (the edited
// config is validated again before saving).
func loadCAConfig(c *cli.Context, strict bool) (*config.Config, string, error) {
	path, err := caConfigPath(c)
	if err != nil {
		return nil, "", err
	}
	cfg, err := config.Load(path)
	var verr *config.ValidationError
	switch {
	case err == nil:
	case cfg != nil && errors.As(err, &verr):
		if strict {
			return nil, "", problemsError(path+" is not valid; fix it first", verr)
		}
	case errors.Is(err, os.ErrNotExist):
		return nil, "", fmt.Errorf("the CA configuration %s does not exist: use --ca-config or run `step ca init`", path)
	default:
		return nil, "", fmt.Errorf("error loading the CA configuration: %w", err)
	}
	if cfg.Authority != nil && cfg.Authority.EnableAdmin {
		return nil, "", errRemoteManagement
	}
	return cfg, path, nil
}

// findProvisioner returns the index of the provisioner named name
// (case-sensitive, as names are unique in ca.json) and its type, or -1.
// Entries without a readable type and name are skipped.
func findProvisioner(cfg *config.Config, name string) (int, string) {
	if cfg.Authority == nil {
		return -1, ""
	}
	for i, raw := range cfg.Authority.Provisioners {
		typ, n, err := config.ProvisionerHeader(raw)
		if err == nil && n == name {
			return i, typ
		}
	}
	return -1, ""
}

// saveCAConfig validates cfg and writes it to path (tab indentation, trailing
// newline, atomically, keeping the file mode), then prints step's success
// message to w. When the edited configuration has problems, every one is in
// the error and the file is left untouched.
func saveCAConfig(w io.Writer, path string, cfg *config.Config) error {
	if err := cfg.Validate(); err != nil {
		var verr *config.ValidationError
		if errors.As(err, &verr) {
			return problemsError("the new configuration is not valid; "+path+" was not changed", verr)
		}
		return err
	}
	if err := config.Save(path, cfg, true); err != nil {
		return err
	}
	fmt.Fprintln(w, provisionerSuccess)
	return nil
}

// problemsError formats a validation error as a header line followed by one
// indented line per problem.
func problemsError(header string, verr *config.ValidationError) error {
	var b strings.Builder
	b.WriteString(header + ":")
	for _, p := range verr.Problems {
		b.WriteString("\n  " + p.String())
	}
	return errors.New(b.String())
}

// errWriter returns where the command's messages go: the app's error writer
// (stderr).
func errWriter(c *cli.Context) io.Writer {
	if c.App != nil && c.App.ErrWriter != nil {
		return c.App.ErrWriter
	}
	return os.Stderr
}

// jsonObject is a JSON object that keeps the order of its members, so that an
// edited provisioner entry keeps its layout and any member this CLI does not
// know. Not safe for concurrent use.
type jsonObject struct {
	keys []string
	vals map[string]json.RawMessage
}

// parseJSONObject parses raw, which must be a JSON object. A repeated key
// keeps its first position and its last value, as encoding/json would read it.
func parseJSONObject(raw []byte) (*jsonObject, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("expected a JSON object")
	}
	o := &jsonObject{vals: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("expected an object key")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := o.vals[key]; !dup {
			o.keys = append(o.keys, key)
		}
		o.vals[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return o, nil
}

// lookup returns the actual key matching key: exactly, else
// case-insensitively (as encoding/json matches keys).
func (o *jsonObject) lookup(key string) (string, bool) {
	if _, ok := o.vals[key]; ok {
		return key, true
	}
	for _, k := range o.keys {
		if strings.EqualFold(k, key) {
			return k, true
		}
	}
	return "", false
}

// get returns the value of key (see lookup).
func (o *jsonObject) get(key string) (json.RawMessage, bool) {
	k, ok := o.lookup(key)
	if !ok {
		return nil, false
	}
	return o.vals[k], true
}

// set encodes v as the value of key, in place when the key exists (see
// lookup), else inserted right after the member named after (appended when
// after is "" or absent).
func (o *jsonObject) set(key string, v any, after string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", key, err)
	}
	if k, ok := o.lookup(key); ok {
		o.vals[k] = b
		return nil
	}
	pos := len(o.keys)
	if a, ok := o.lookup(after); ok && after != "" {
		for i, k := range o.keys {
			if k == a {
				pos = i + 1
				break
			}
		}
	}
	o.keys = append(o.keys[:pos], append([]string{key}, o.keys[pos:]...)...)
	o.vals[key] = b
	return nil
}

// del removes key (see lookup) if present.
func (o *jsonObject) del(key string) {
	k, ok := o.lookup(key)
	if !ok {
		return
	}
	delete(o.vals, k)
	for i, kk := range o.keys {
		if kk == k {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			break
		}
	}
}

// MarshalJSON implements json.Marshaler: the members in order.
func (o *jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(o.vals[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

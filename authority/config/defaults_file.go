package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// Defaults is the step CLI's defaults.json (wire-spec §1.4). Key order is
// ca-url, ca-config, fingerprint, root, as step writes it. `step ca init`
// writes ca-config; `step ca bootstrap` does not.
type Defaults struct {
	CAURL       string `json:"ca-url"`
	CAConfig    string `json:"ca-config,omitempty"`
	Fingerprint string `json:"fingerprint"`
	Root        string `json:"root"`
	// RedirectURL is only written by team bootstraps.
	RedirectURL string `json:"redirect-url,omitempty"`
}

// LoadDefaults reads defaults.json into the typed struct. Unknown keys are
// ignored (the CLI reads them generically through LoadDefaultsMap). Syntax
// errors carry file, line and column (*SyntaxError); other errors name the
// path.
func LoadDefaults(path string) (*Defaults, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read defaults: %w", err)
	}
	if err := checkSyntax(data, path); err != nil {
		return nil, err
	}
	var d Defaults
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &d, nil
}

// LoadDefaultsMap reads defaults.json as a generic object, for the CLI rule
// "any key named like a flag of the running command becomes that flag's
// value". Numbers are json.Number, so formatting them with %v gives back the
// literal as written. A file holding anything but an object is an error.
func LoadDefaultsMap(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read defaults: %w", err)
	}
	if err := checkSyntax(data, path); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: expected a JSON object: %w", path, err)
	}
	if m == nil {
		return nil, fmt.Errorf("%s: expected a JSON object, got null", path)
	}
	return m, nil
}

// SaveDefaults writes d to path atomically the way step does: indented with
// indent ("\t" for `step ca init`, "  " for `step ca bootstrap`), no trailing
// newline, HTML characters escaped (json.MarshalIndent). An existing file
// keeps its permission bits; a new one gets 0644.
func SaveDefaults(path string, d *Defaults, indent string) error {
	if d == nil {
		return fmt.Errorf("save %s: nil defaults", path)
	}
	data, err := json.MarshalIndent(d, "", indent)
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return writeKeepingMode(path, data, 0o644)
}

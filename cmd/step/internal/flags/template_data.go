package flags

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// Set is --set key=value, repeatable (template data). Each occurrence is one
// pair as given: urfave/cli's StringSliceFlag would split values on commas
// and cut --set 'sans=["a.example.com","b.example.com"]' in two.
func Set() cli.Flag {
	return &cli.GenericFlag{
		Name:  "set",
		Usage: "The `key=value` pair with template data variables. Use the flag multiple times to set multiple variables.",
		Value: &keyValues{},
	}
}

// keyValues collects the occurrences of a flag as they are.
type keyValues []string

func (k *keyValues) Set(v string) error { *k = append(*k, v); return nil }
func (k *keyValues) String() string {
	if k == nil {
		return ""
	}
	return strings.Join(*k, " ")
}

// SetValues returns the --set pairs in the order given.
func SetValues(c *cli.Context) []string {
	if kv, ok := c.Generic("set").(*keyValues); ok && kv != nil {
		return *kv
	}
	return c.StringSlice("set")
}

// TemplateData returns the template data of --set-file and --set (see
// ParseTemplateData), and whether either flag was given.
func TemplateData(c *cli.Context) (map[string]any, bool, error) {
	file, pairs := c.String("set-file"), SetValues(c)
	if file == "" && len(pairs) == 0 {
		return nil, false, nil
	}
	m, err := ParseTemplateData(file, pairs)
	return m, true, err
}

// ParseTemplateData returns the template data step builds from --set-file
// and --set: the JSON object of setFile (when not empty), then each key=value
// pair over it. A value that is valid JSON is that JSON value (--set n=3 is a
// number, --set 'l=["a"]' a list), anything else a string. Numbers keep
// their text (json.Number).
func ParseTemplateData(setFile string, pairs []string) (map[string]any, error) {
	m := map[string]any{}
	if setFile != "" {
		b, err := os.ReadFile(setFile)
		if err != nil {
			return nil, fmt.Errorf("error reading template data: %w", err)
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&m); err != nil || m == nil {
			return nil, fmt.Errorf("error parsing %s: the template data must be a JSON object", setFile)
		}
	}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid value '%s' for flag '--set': want key=value", p)
		}
		var j any
		d := json.NewDecoder(strings.NewReader(v))
		d.UseNumber()
		if err := d.Decode(&j); err == nil && !d.More() {
			m[k] = j
		} else {
			m[k] = v
		}
	}
	return m, nil
}

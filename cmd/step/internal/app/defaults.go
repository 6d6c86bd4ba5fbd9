package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/internal/steppath"
)

// EnvName returns the environment variable for a flag: STEP_<NAME>, upper-case,
// '-' replaced by '_' (e.g. ca-url → STEP_CA_URL).
func EnvName(flag string) string {
	return "STEP_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// ApplyDefaults is the Before hook that New installs on every command (wire-spec
// §1.4). It first selects the context given with --context (if the command has it)
// for the rest of the process, then, for every flag of the running command not set
// on the command line, takes the value from $STEP_<NAME> (primary name only), else
// from the defaults.json key equal to the flag's name or any alias (values
// stringified with %v; a JSON array sets each element, for slice flags). A
// slice flag's environment value is a comma separated list; its other values
// are taken whole, commas included (the app disables urfave's separator).
//
// defaults.json is the global --config file if given, else
// $(step path)/config/defaults.json overlaid by the profile's defaults.json when
// contexts are in use (profile keys win). A missing defaults file is ignored; a
// malformed one is an error naming the file.
func ApplyDefaults(c *cli.Context) error {
	if c.Command == nil {
		return nil
	}
	if hasFlag(c.Command.Flags, "context") {
		name := c.String("context")
		if name == "" {
			name = os.Getenv(EnvName("context"))
		}
		if err := steppath.UseContext(name); err != nil {
			return err
		}
	}
	defaults, err := loadDefaults(rootString(c, "config"))
	if err != nil {
		return err
	}
	for _, f := range c.Command.Flags {
		names := f.Names()
		if len(names) == 0 || names[0] == "help" || isSet(c, names) {
			continue
		}
		if v, ok := os.LookupEnv(EnvName(names[0])); ok && v != "" {
			if err := setFromEnv(c, f, names[0], v); err != nil {
				return fmt.Errorf("invalid value %q for flag --%s from $%s: %w", v, names[0], EnvName(names[0]), err)
			}
			continue
		}
		for _, n := range names {
			v, ok := defaults.values[n]
			if !ok {
				continue
			}
			if err := setFromJSON(c, names[0], v); err != nil {
				return fmt.Errorf("invalid value for flag --%s from key %q of %s: %w", names[0], n, defaults.file, err)
			}
			break
		}
	}
	return nil
}

type defaultsFile struct {
	file   string
	values map[string]any
}

// loadDefaults reads the --config file, or the authority and profile defaults.
func loadDefaults(configFile string) (defaultsFile, error) {
	out := defaultsFile{values: map[string]any{}}
	if configFile != "" {
		out.file = configFile
		return out, readDefaultsInto(configFile, out.values, true)
	}
	authority, err := steppath.DefaultsFile()
	if err != nil {
		// Without a resolvable step path there are no defaults; commands that need
		// the path report it themselves.
		return out, nil
	}
	out.file = authority
	if err := readDefaultsInto(authority, out.values, false); err != nil {
		return out, err
	}
	if enabled, err := steppath.ContextsEnabled(); err != nil || !enabled {
		return out, nil
	}
	profile, err := steppath.ProfileDefaultsFile()
	if err != nil || profile == authority {
		return out, nil
	}
	if err := readDefaultsInto(profile, out.values, false); err != nil {
		return out, err
	}
	return out, nil
}

// readDefaultsInto merges the JSON object in file into m. A missing file is an
// error only when mustExist.
func readDefaultsInto(file string, m map[string]any, mustExist bool) error {
	b, err := os.ReadFile(file)
	if err != nil {
		if (errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) && !mustExist { // ENOTDIR: the step path lies under a regular file
			return nil
		}
		return fmt.Errorf("reading defaults %s: %w", file, errors.Unwrap(err))
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("parsing defaults %s: %w", file, err)
	}
	for k, val := range v {
		m[k] = val
	}
	return nil
}

// setFromEnv sets flag name from an environment value. As urfave/cli v1 does
// for step, the value of a slice flag is a comma separated list (each item
// trimmed); any other value is taken whole.
func setFromEnv(c *cli.Context, f cli.Flag, name, v string) error {
	switch f.(type) {
	case *cli.StringSliceFlag, *cli.IntSliceFlag, *cli.Int64SliceFlag, *cli.UintSliceFlag, *cli.Uint64SliceFlag, *cli.Float64SliceFlag:
	default:
		return c.Set(name, v)
	}
	for _, item := range strings.Split(v, ",") {
		if err := c.Set(name, strings.TrimSpace(item)); err != nil {
			return err
		}
	}
	return nil
}

func setFromJSON(c *cli.Context, name string, v any) error {
	if v == nil {
		return nil
	}
	if list, ok := v.([]any); ok {
		for _, e := range list {
			if err := c.Set(name, fmt.Sprintf("%v", e)); err != nil {
				return err
			}
		}
		return nil
	}
	return c.Set(name, fmt.Sprintf("%v", v))
}

// isSet reports whether any of the names was set on this command's command line.
func isSet(c *cli.Context, names []string) bool {
	for _, n := range names {
		if c.IsSet(n) {
			return true
		}
	}
	return false
}

func hasFlag(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// rootString returns the value of a flag of the application: the outermost context
// that defines it, so that a command's own flag of the same name does not shadow it.
func rootString(c *cli.Context, name string) string {
	lineage := c.Lineage()
	for i := len(lineage) - 1; i >= 0; i-- {
		ctx := lineage[i]
		if ctx.Command != nil && hasFlag(ctx.Command.Flags, name) {
			return ctx.String(name)
		}
	}
	return ""
}

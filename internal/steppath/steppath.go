// Package steppath resolves the step configuration directory ($STEPPATH) the way
// Smallstep's step and step-ca do (wire-spec §1.1), including contexts.
//
// Layout without contexts: every file lives directly under the base path
// ($STEPPATH, else $HOME/.step). With $base/contexts.json present, contexts are
// enabled: the selected context names an authority and a profile, authority files
// live under $base/authorities/<authority>/ and profile files under
// $base/profiles/<profile>/.
//
// The context of one process is chosen, in order, by the environment variable
// named by ContextEnv (set it with UseContext, e.g. from a --context flag), then by
// $base/current-context.json. The package holds no state of its own; every
// function re-reads the environment and the files, so it is safe for concurrent use
// as long as nobody changes the environment concurrently.
package steppath

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Environment variables read by this package.
const (
	// BaseEnv overrides the base directory.
	BaseEnv = "STEPPATH"
	// ContextEnv selects a context for this process (and its children), overriding
	// current-context.json. step's --context flag maps to it.
	ContextEnv = "STEP_CONTEXT"
)

// File names relative to the base directory.
const (
	ContextsFile       = "contexts.json"
	CurrentContextFile = "current-context.json"
	AuthoritiesDir     = "authorities"
	ProfilesDir        = "profiles"
)

// ErrNoContexts is returned (wrapped) by context functions when contexts.json does not exist.
var ErrNoContexts = errors.New("no contexts configured")

// ErrNoCurrentContext is returned (wrapped) by Current when contexts exist but none is selected.
var ErrNoCurrentContext = errors.New("no current context selected")

// Base returns the base path: $STEPPATH if set, else $HOME/.step. It fails when
// neither STEPPATH nor the home directory can be determined.
func Base() (string, error) {
	if p := os.Getenv(BaseEnv); p != "" {
		return filepath.Clean(p), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", fmt.Errorf("cannot determine the step path: set STEPPATH or HOME: %w", err)
	}
	return filepath.Join(home, ".step"), nil
}

// ContextsEnabled reports whether $base/contexts.json exists.
func ContextsEnabled() (bool, error) {
	base, err := Base()
	if err != nil {
		return false, err
	}
	_, err = os.Stat(filepath.Join(base, ContextsFile))
	switch {
	case err == nil:
		return true, nil
	case notExist(err):
		return false, nil
	default:
		return false, fmt.Errorf("checking %s: %w", filepath.Join(base, ContextsFile), err)
	}
}

// Path returns the context-resolved step path: with contexts enabled
// $base/authorities/<authority of the current context>, otherwise the base path.
// With contexts enabled but no context selected it returns the base path, as step does.
func Path() (string, error) {
	base, err := Base()
	if err != nil {
		return "", err
	}
	cur, err := Current()
	if err != nil {
		if errors.Is(err, ErrNoContexts) || errors.Is(err, ErrNoCurrentContext) {
			return base, nil
		}
		return "", err
	}
	return filepath.Join(base, AuthoritiesDir, cur.Authority), nil
}

// ProfilePath returns the profile path: $base/profiles/<profile of the current
// context> with contexts enabled, otherwise the base path.
func ProfilePath() (string, error) {
	base, err := Base()
	if err != nil {
		return "", err
	}
	cur, err := Current()
	if err != nil {
		if errors.Is(err, ErrNoContexts) || errors.Is(err, ErrNoCurrentContext) {
			return base, nil
		}
		return "", err
	}
	return filepath.Join(base, ProfilesDir, cur.Profile), nil
}

// Join returns Path() joined with elem, e.g. Join("config", "defaults.json").
func Join(elem ...string) (string, error) {
	p, err := Path()
	if err != nil {
		return "", err
	}
	return filepath.Join(append([]string{p}, elem...)...), nil
}

// DefaultsFile returns the authority defaults file, Path()/config/defaults.json.
func DefaultsFile() (string, error) { return Join("config", "defaults.json") }

// ProfileDefaultsFile returns ProfilePath()/config/defaults.json.
func ProfileDefaultsFile() (string, error) {
	p, err := ProfilePath()
	if err != nil {
		return "", err
	}
	return filepath.Join(p, "config", "defaults.json"), nil
}

// RootFile returns the default root certificate path, Path()/certs/root_ca.crt.
func RootFile() (string, error) { return Join("certs", "root_ca.crt") }

// notExist reports whether err means the file is not there: it does not
// exist, or a parent in its path is a regular file (STEPPATH=/some/file/x),
// where it cannot exist either. The command then reports the path itself.
func notExist(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

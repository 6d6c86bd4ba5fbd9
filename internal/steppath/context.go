package steppath

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Context is one entry of contexts.json. The file is a JSON object mapping the
// context name to {"authority": "...", "profile": "..."}; Name is filled from the key.
type Context struct {
	Name      string `json:"-"`
	Authority string `json:"authority"`
	Profile   string `json:"profile"`
}

// Contexts maps a context name to its context, as stored in contexts.json.
type Contexts map[string]*Context

// Names returns the context names sorted.
func (cs Contexts) Names() []string {
	names := make([]string, 0, len(cs))
	for n := range cs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

type currentContext struct {
	Context string `json:"context"`
}

// ReadContexts reads $base/contexts.json. It returns an error wrapping ErrNoContexts
// when the file does not exist, and an error naming the file when it is malformed.
func ReadContexts() (Contexts, error) {
	base, err := Base()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(base, ContextsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		if notExist(err) {
			return nil, fmt.Errorf("%s does not exist: %w", path, ErrNoContexts)
		}
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	cs := Contexts{}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &cs); err != nil {
			return nil, fmt.Errorf("parsing %s: %w", path, err)
		}
	}
	for name, c := range cs {
		if c == nil {
			return nil, fmt.Errorf("parsing %s: context %q is null", path, name)
		}
		c.Name = name
		if c.Authority == "" {
			c.Authority = name
		}
		if c.Profile == "" {
			c.Profile = name
		}
	}
	return cs, nil
}

// WriteContexts writes $base/contexts.json (2-space indent, mode 0644) atomically.
func WriteContexts(cs Contexts) error {
	base, err := Base()
	if err != nil {
		return err
	}
	if cs == nil {
		cs = Contexts{}
	}
	b, err := json.MarshalIndent(cs, "", "    ")
	if err != nil {
		return fmt.Errorf("encoding contexts: %w", err)
	}
	return writeAtomic(filepath.Join(base, ContextsFile), append(b, '\n'), 0o644)
}

// ReadCurrentName returns the context named in $base/current-context.json, or ""
// when the file does not exist.
func ReadCurrentName() (string, error) {
	base, err := Base()
	if err != nil {
		return "", err
	}
	path := filepath.Join(base, CurrentContextFile)
	b, err := os.ReadFile(path)
	if err != nil {
		if notExist(err) {
			return "", nil
		}
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	var cc currentContext
	if err := json.Unmarshal(b, &cc); err != nil {
		return "", fmt.Errorf("parsing %s: %w", path, err)
	}
	return cc.Context, nil
}

// WriteCurrentName writes $base/current-context.json = {"context": name} atomically.
func WriteCurrentName(name string) error {
	base, err := Base()
	if err != nil {
		return err
	}
	b, err := json.Marshal(currentContext{Context: name})
	if err != nil {
		return fmt.Errorf("encoding current context: %w", err)
	}
	return writeAtomic(filepath.Join(base, CurrentContextFile), append(b, '\n'), 0o644)
}

// Current returns the selected context: the one named by $STEP_CONTEXT, else by
// current-context.json. Errors wrap ErrNoContexts (no contexts.json) or
// ErrNoCurrentContext (nothing selected); a name that is not in contexts.json is an error.
func Current() (*Context, error) {
	cs, err := ReadContexts()
	if err != nil {
		return nil, err
	}
	name := os.Getenv(ContextEnv)
	source := "$" + ContextEnv
	if name == "" {
		if name, err = ReadCurrentName(); err != nil {
			return nil, err
		}
		source = CurrentContextFile
	}
	if name == "" {
		return nil, ErrNoCurrentContext
	}
	c, ok := cs[name]
	if !ok {
		return nil, fmt.Errorf("context %q (from %s) not found in %s", name, source, ContextsFile)
	}
	return c, nil
}

// UseContext selects the named context for this process (and child processes) by
// setting $STEP_CONTEXT, after checking that it exists. An empty name is a no-op.
// It is meant to be called once at start-up (e.g. for a --context flag), not concurrently.
func UseContext(name string) error {
	if name == "" {
		return nil
	}
	cs, err := ReadContexts()
	if err != nil {
		return fmt.Errorf("cannot use context %q: %w", name, err)
	}
	if _, ok := cs[name]; !ok {
		return fmt.Errorf("context %q not found", name)
	}
	if err := os.Setenv(ContextEnv, name); err != nil {
		return fmt.Errorf("selecting context %q: %w", name, err)
	}
	return nil
}

// writeAtomic writes data to a temp file in path's directory, fsyncs it and renames
// it over path. The directory is created (0700) if needed. On error path is untouched.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		_ = f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

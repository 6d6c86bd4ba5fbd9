// Package ui holds the step CLI's console conventions: progress and status lines go
// to stderr, data to stdout, passwords come from a file or the terminal, and output
// files are never overwritten silently.
//
// Functions write to os.Stderr and read os.Stdin; they hold no state and are safe
// for concurrent use, although interleaved prompts would confuse a user.
package ui

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/mayfly-pki/mayfly/internal/fileutil"
)

// ErrNotTerminal is returned (wrapped) when input is needed from the user and stdin
// is not a terminal.
var ErrNotTerminal = errors.New("stdin is not a terminal")

// Printf writes a formatted message to stderr.
func Printf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format, args...)
}

// Println writes its arguments and a newline to stderr.
func Println(args ...any) {
	fmt.Fprintln(os.Stderr, args...)
}

// PrintSelected writes "✔ <name>: <value>" to stderr, as step does for each choice
// it made (provisioner, CA, certificate, ...).
func PrintSelected(name, value string) {
	fmt.Fprintf(os.Stderr, "✔ %s: %s\n", name, value)
}

// IsTerminal reports whether stdin is a terminal.
func IsTerminal() bool { return term.IsTerminal(int(os.Stdin.Fd())) }

// PasswordFile is where a command reads a password from: the file given with
// one of its flags (File, empty when the flag was not given) and that flag's
// name without dashes (Flag, empty when the command has no flag for this
// password). Build it with PasswordFlag so that Flag is always a flag of the
// running command.
type PasswordFile struct {
	File string
	Flag string
}

// PasswordFlag returns the password file of c's flag name. Flag is left empty
// when the running command does not define that flag, so that no message
// advises a flag the command does not have.
func PasswordFlag(c *cli.Context, name string) PasswordFile {
	if c.Command == nil {
		return PasswordFile{}
	}
	for _, f := range c.Command.Flags {
		for _, n := range f.Names() {
			if n == name {
				return PasswordFile{File: c.String(name), Flag: name}
			}
		}
	}
	return PasswordFile{}
}

// Advice is ": use --<flag>", to end a message about a missing password, or
// "" when no flag of the command gives it.
func (p PasswordFile) Advice() string {
	if p.Flag == "" {
		return ""
	}
	return ": use --" + p.Flag
}

// ReadPassword returns a password: the trimmed content of src.File when set
// (errors name the file), else one read from the terminal after printing
// prompt to stderr. When stdin is not a terminal it fails with an error
// wrapping ErrNotTerminal that names src.Flag, if any ("a password is
// required: use --password-file: stdin is not a terminal"). An empty typed
// password is an error.
func ReadPassword(src PasswordFile, prompt string) ([]byte, error) {
	if src.File != "" {
		return fileutil.ReadPasswordFile(src.File)
	}
	if !IsTerminal() {
		return nil, fmt.Errorf("a password is required%s: %w", src.Advice(), ErrNotTerminal)
	}
	pw, err := PromptPassword(prompt)
	if err != nil {
		return nil, err
	}
	if len(pw) == 0 {
		return nil, errors.New("a password is required: the password cannot be empty")
	}
	return pw, nil
}

// PromptPassword prints prompt to stderr and reads a line from the terminal without
// echo. The result may be empty. It fails (wrapping ErrNotTerminal) when stdin is
// not a terminal: callers check IsTerminal first to name their flag.
func PromptPassword(prompt string) ([]byte, error) {
	if !IsTerminal() {
		return nil, fmt.Errorf("a password is required: %w", ErrNotTerminal)
	}
	fmt.Fprint(os.Stderr, prompt+" ")
	pw, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("reading password: %w", err)
	}
	return pw, nil
}

// Confirm asks question on the terminal with a "[Y/n]" suffix and reports whether
// the user answered yes (empty answer = yes). Without a terminal it returns false
// and an error wrapping ErrNotTerminal.
func Confirm(question string) (bool, error) {
	if !IsTerminal() {
		return false, ErrNotTerminal
	}
	return confirm(os.Stdin, os.Stderr, question)
}

func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	fmt.Fprintf(out, "%s [Y/n]: ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("reading answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "", "y", "yes":
		return true, nil
	default:
		return false, nil
	}
}

// CheckOverwrite decides whether path may be (over)written: it may when it does not
// exist or force is set. Otherwise, on a terminal, the user is asked
// "Would you like to overwrite <path> [Y/n]"; without a terminal (or on "n") the
// error is "file <path> already exists: use --force to overwrite".
func CheckOverwrite(path string, force bool) error {
	if force {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("checking %s: %w", path, err)
	}
	refused := fmt.Errorf("file %s already exists: use --force to overwrite", path)
	if !IsTerminal() {
		return refused
	}
	ok, err := Confirm("Would you like to overwrite " + path)
	if err != nil {
		return err
	}
	if !ok {
		return refused
	}
	return nil
}

// WriteFile writes data to path atomically with mode perm (fileutil.WriteFile) after
// CheckOverwrite allowed it. On error the old file, if any, is untouched.
func WriteFile(path string, data []byte, perm os.FileMode, force bool) error {
	if err := CheckOverwrite(path, force); err != nil {
		return err
	}
	return fileutil.WriteFile(path, data, perm)
}

// ReadInput returns the content of file, or of stdin when file is "" or "-".
// Errors name the file.
func ReadInput(file string) ([]byte, error) {
	if file == "" || file == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, errors.Unwrap(err))
	}
	return b, nil
}

package badger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Badger's MANIFEST starts with an 8-byte header: the magic "Bdgr" followed by
// a format version. Badger v1 and v2 write the version as a big-endian uint32
// (v1.6: 4, v2.x: 7, see manifest.go of badger@v1.6.2 and badger/v2@v2.2007.4);
// Badger v3 and v4 split the same four bytes into a big-endian uint16
// "external magic" (0 unless the application sets one) and a big-endian uint16
// version, 8 (badger/v4@v4.9.6 manifest.go, badgerMagicVersion). Reading
// bytes 4..8 as (uint16, uint16) therefore decodes every generation.
const (
	manifestName        = "MANIFEST"
	manifestMagic       = "Bdgr"
	manifestVersionV2   = 7
	manifestVersionV4   = 8
	manifestHeaderBytes = 8
)

// Format is the Badger generation that wrote a database directory.
type Format int

// The formats DetectFormat tells apart.
const (
	FormatNone Format = iota // no MANIFEST: a new or empty directory
	FormatV1                 // Badger v1: step-ca's db.type "badger" or "badgerv1"
	FormatV2                 // Badger v2: step-ca's db.type "badgerv2", what `step ca init` writes
	FormatV4                 // Badger v4: Mayfly's
)

// DetectFormat reads the header of dir's MANIFEST, without opening the
// database, and returns the generation that wrote it. A missing MANIFEST is
// FormatNone; an unreadable or foreign one (not Badger's, another
// application's, a newer Badger) is an error naming dir.
func DetectFormat(dir string) (Format, error) {
	f, err := os.Open(filepath.Join(dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return FormatNone, nil
	}
	if err != nil {
		return 0, fmt.Errorf("database directory %s: cannot read MANIFEST: %w", dir, err)
	}
	defer f.Close()

	var hdr [manifestHeaderBytes]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, fmt.Errorf("database directory %s holds an empty or truncated MANIFEST; it is not a usable Badger database", dir)
		}
		return 0, fmt.Errorf("database directory %s: cannot read MANIFEST: %w", dir, err)
	}
	if !bytes.Equal(hdr[:4], []byte(manifestMagic)) {
		return 0, fmt.Errorf("database directory %s holds a MANIFEST that is not Badger's (bad magic %q)", dir, hdr[:4])
	}
	ext := binary.BigEndian.Uint16(hdr[4:6])
	version := binary.BigEndian.Uint16(hdr[6:8])
	switch {
	case ext == 0 && version == manifestVersionV4:
		return FormatV4, nil
	case ext == 0 && version == manifestVersionV2:
		return FormatV2, nil
	case ext == 0 && version < manifestVersionV2:
		return FormatV1, nil
	case ext == 0:
		return 0, fmt.Errorf("database directory %s holds a database written by a newer Badger (MANIFEST version %d, Mayfly reads %d)", dir, version, manifestVersionV4)
	default:
		return 0, fmt.Errorf("database directory %s holds a Badger database of another application (external magic %d, MANIFEST version %d)", dir, ext, version)
	}
}

// StepFormatError is Open's refusal of a directory written by step-ca's
// Badger v1 or v2. Its message says how to import the directory with
// `step-ca db import`; the command fills in Config, the ca.json whose
// db.dataSource is Dir, when it knows it.
type StepFormatError struct {
	Dir      string // db.dataSource
	ValueDir string // db.valueDir when it is another directory, else ""
	Format   Format // FormatV1 or FormatV2
	Config   string // the ca.json to import into; "" prints <ca.json>
}

// Source is the --from type of `step-ca db import` for e's format.
func (e *StepFormatError) Source() string {
	if e.Format == FormatV1 {
		return "badgerv1"
	}
	return "badgerv2"
}

func (e *StepFormatError) Error() string {
	gen := "v2"
	if e.Format == FormatV1 {
		gen = "v1"
	}
	// The target ca.json keeps its db block: the directory moves aside,
	// Mayfly creates a new one in its place and the import fills it.
	dir := absPath(e.Dir)
	moves := []string{"mv " + shellQuote(dir) + " " + shellQuote(dir+".step-ca")}
	cmd := "step-ca db import --from " + shellQuote(e.Source()+":"+dir+".step-ca")
	if e.ValueDir != "" {
		vdir := absPath(e.ValueDir)
		moves = append(moves, "mv "+shellQuote(vdir)+" "+shellQuote(vdir+".step-ca"))
		cmd += " --from-value-dir " + shellQuote(vdir+".step-ca")
	}
	config := "<ca.json>"
	if e.Config != "" {
		config = shellQuote(absPath(e.Config))
	}
	return fmt.Sprintf("database directory %s holds a Badger %s database written by Smallstep step-ca; "+
		"Mayfly uses Badger v4 and cannot open it in place: stop step-ca, move it aside and import it with: %s && %s --to %s",
		e.Dir, gen, strings.Join(moves, " && "), cmd, config)
}

// absPath is p made absolute for a command to paste, or p when that fails.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// characters that need no quoting.
func shellQuote(s string) string {
	plain := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@=,%", r))
	}) < 0
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// checkFormat inspects dir's MANIFEST before badger opens the directory, so
// that a database written by an older Badger (the real step-ca writes Badger
// v2) fails with a clear one-line error (a *StepFormatError) instead of
// badger's multi-line one, and before badger touches any file. A missing
// MANIFEST (a new or empty directory) is fine. valueDir is db.valueDir.
func checkFormat(dir, valueDir string) error {
	f, err := DetectFormat(dir)
	if err != nil {
		return err
	}
	if f == FormatV1 || f == FormatV2 {
		e := &StepFormatError{Dir: dir, Format: f}
		if valueDir != "" && absPath(valueDir) != absPath(dir) {
			e.ValueDir = valueDir
		}
		return e
	}
	return nil
}

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

// checkFormat inspects dir's MANIFEST before badger opens the directory, so
// that a database written by an older Badger (the real step-ca writes Badger
// v2) fails with a clear one-line error instead of badger's multi-line one,
// and before badger touches any file. A missing MANIFEST (a new or empty
// directory) is fine.
func checkFormat(dir string) error {
	f, err := os.Open(filepath.Join(dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("database directory %s: cannot read MANIFEST: %w", dir, err)
	}
	defer f.Close()

	var hdr [manifestHeaderBytes]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("database directory %s holds an empty or truncated MANIFEST; it is not a usable Badger database", dir)
		}
		return fmt.Errorf("database directory %s: cannot read MANIFEST: %w", dir, err)
	}
	if !bytes.Equal(hdr[:4], []byte(manifestMagic)) {
		return fmt.Errorf("database directory %s holds a MANIFEST that is not Badger's (bad magic %q)", dir, hdr[:4])
	}
	ext := binary.BigEndian.Uint16(hdr[4:6])
	version := binary.BigEndian.Uint16(hdr[6:8])
	const cannot = "Mayfly uses Badger v4 and cannot open it in place; move it aside or point db.dataSource at a new directory"
	switch {
	case ext == 0 && version == manifestVersionV4:
		return nil
	case ext == 0 && version == manifestVersionV2:
		return fmt.Errorf("database directory %s holds a Badger v2 database (written by Smallstep step-ca, MANIFEST version %d); %s", dir, version, cannot)
	case ext == 0 && version < manifestVersionV2:
		return fmt.Errorf("database directory %s holds a Badger v1 database (written by Smallstep step-ca, MANIFEST version %d); %s", dir, version, cannot)
	case ext == 0:
		return fmt.Errorf("database directory %s holds a database written by a newer Badger (MANIFEST version %d, Mayfly reads %d)", dir, version, manifestVersionV4)
	default:
		return fmt.Errorf("database directory %s holds a Badger database of another application (external magic %d, MANIFEST version %d)", dir, ext, version)
	}
}

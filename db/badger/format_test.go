package badger

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenStepDirectoryNamesImport: the refusal of step-ca's Badger v1/v2
// directory is one line that says how to import it, with the real paths.
func TestOpenStepDirectoryNamesImport(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		version  uint32
		valueDir bool
		want     string
	}{
		{"v2", 7, false, "mv {dir} {dir}.step-ca && step-ca db import --from badgerv2:{dir}.step-ca --to <ca.json>"},
		{"v1", 4, false, "mv {dir} {dir}.step-ca && step-ca db import --from badgerv1:{dir}.step-ca --to <ca.json>"},
		{"v2 value dir", 7, true, "mv {dir} {dir}.step-ca && mv {vdir} {vdir}.step-ca && step-ca db import --from badgerv2:{dir}.step-ca --from-value-dir {vdir}.step-ca --to <ca.json>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			dir := filepath.Join(base, "db")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "MANIFEST"), manifestHeader("Bdgr", -1, tc.version), 0o600); err != nil {
				t.Fatal(err)
			}
			opts := Options{Dir: dir, MemTableSize: testMemTableSize}
			if tc.valueDir {
				opts.ValueDir = filepath.Join(base, "vlog")
			}
			_, err := Open(context.Background(), opts)
			want := strings.NewReplacer("{dir}", dir, "{vdir}", opts.ValueDir).Replace(tc.want)
			if err == nil || !strings.Contains(err.Error(), "import it with: "+want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Open = %v\nwant one line ending %q", err, want)
			}
		})
	}
}

func TestStepFormatErrorQuotesPaths(t *testing.T) {
	t.Parallel()
	e := &StepFormatError{Dir: "/srv/my ca/db", Format: FormatV2, Config: "/srv/it's/ca.json"}
	want := `import it with: mv '/srv/my ca/db' '/srv/my ca/db.step-ca' && step-ca db import --from 'badgerv2:/srv/my ca/db.step-ca' --to '/srv/it'\''s/ca.json'`
	if got := e.Error(); !strings.HasSuffix(got, want) {
		t.Fatalf("Error() = %q\nwant the suffix %q", got, want)
	}
}

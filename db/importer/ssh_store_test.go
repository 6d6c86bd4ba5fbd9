package importer

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	mayflydb "github.com/mayfly-pki/mayfly/db"
)

// openMayfly opens a new, empty Mayfly database of kind (postgresql and
// mysql: a database of its own on the test servers).
func openMayfly(t *testing.T, kind string) store.Store {
	t.Helper()
	var o mayflydb.Options
	switch kind {
	case "postgresql":
		name, _ := createDB(t, adminDB(t, true), true)
		o = mayflydb.Options{Type: "postgresql", DataSource: "postgresql://postgres@127.0.0.1:5432/?sslmode=disable", Database: name}
	case "mysql":
		name, _ := createDB(t, adminDB(t, false), false)
		o = mayflydb.Options{Type: "mysql", DataSource: "root@tcp(127.0.0.1:3306)/", Database: name}
	case "badger":
		o = mayflydb.Options{Type: "badger", DataSource: filepath.Join(t.TempDir(), "db")}
	case "bbolt":
		o = mayflydb.Options{Type: "bbolt", DataSource: filepath.Join(t.TempDir(), "ca.db")}
	default:
		t.Fatalf("unknown kind %q", kind)
	}
	st, err := mayflydb.Open(context.Background(), &o, nil)
	if err != nil {
		t.Fatalf("open %s: %v", kind, err)
	}
	return st
}

// writeSSH writes fx's SSH certificates (a host and a user certificate) and
// SSH revocations into st, as the SSH authority does.
func writeSSH(t *testing.T, st store.Store, fx *fixture) {
	t.Helper()
	ctx := context.Background()
	ss := st.(store.SSHStore)
	for _, c := range fx.sshCerts {
		if err := ss.StoreSSHCertificate(ctx, c); err != nil {
			t.Fatalf("store ssh certificate %s: %v", c.Serial, err)
		}
	}
	for _, r := range fx.sshRevs {
		if err := ss.RevokeSSH(ctx, r); err != nil {
			t.Fatalf("revoke ssh %s: %v", r.Serial, err)
		}
	}
}

// checkSSHServed checks what the target CA serves from the imported SSH
// records: GET /ssh/hosts lists the host certificate's principals
// (ListSSHHosts) and the KRL is built from every revocation
// (ListSSHRevocations).
func checkSSHServed(t *testing.T, st store.Store, fx *fixture) {
	t.Helper()
	ctx := context.Background()
	ss := st.(store.SSHStore)
	hosts, err := ss.ListSSHHosts(ctx)
	if err != nil {
		t.Fatalf("ListSSHHosts: %v", err)
	}
	var got, want []string
	for _, h := range hosts {
		got = append(got, h.Principal+"="+h.Serial)
	}
	for _, c := range fx.sshCerts {
		if c.Host {
			for _, p := range c.Principals {
				want = append(want, strings.ToLower(p)+"="+c.Serial)
			}
		}
	}
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("ssh hosts %v, want %v", got, want)
	}
	revs, err := ss.ListSSHRevocations(ctx)
	if err != nil {
		t.Fatalf("ListSSHRevocations: %v", err)
	}
	got, want = nil, nil
	for _, r := range revs {
		got = append(got, r.Serial+"@"+r.RevokedAt.UTC().Format("2006-01-02T15:04:05.999999999"))
	}
	for _, r := range fx.sshRevs {
		want = append(want, r.Serial+"@"+r.RevokedAt.UTC().Format("2006-01-02T15:04:05.999999999"))
	}
	slices.Sort(got)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("ssh revocations (the KRL's input) %v, want %v", got, want)
	}
}

// TestImportSSHBetweenMayflyStores: db import from one Mayfly database to
// another (FromStore, as --from-config opens it) carries the SSH
// certificates (a host and a user certificate) and SSH revocations, between
// the SQL backends (schema 3's tables) and the embedded ones (step-ca's
// buckets); the target's host list and KRL inputs read them back, and a
// second import finds every record present.
func TestImportSSHBetweenMayflyStores(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ from, to string }{
		{"postgresql", "badger"}, {"badger", "postgresql"}, {"mysql", "bbolt"}, {"bbolt", "mysql"},
	} {
		t.Run(tc.from+" to "+tc.to, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			fx := newFixture(t, 0, 0, 0)
			src := openMayfly(t, tc.from)
			writeSSH(t, src, fx)
			source, err := FromStore(src, tc.from+" source")
			if err != nil {
				t.Fatal(err)
			}
			defer source.Close()
			dst := openMayfly(t, tc.to)
			defer dst.Close()
			n := len(fx.sshCerts) + len(fx.sshRevs)
			for run, second := range []bool{false, true} {
				stats, err := Import(ctx, dst, source, Options{})
				if err != nil {
					t.Fatalf("import %d: %v", run+1, err)
				}
				want, present := n, 0
				if second {
					want, present = 0, n
				}
				if stats.SSHRecords != want || stats.SSHRecordsPresent != present {
					t.Fatalf("import %d: %d SSH records written, %d present; want %d, %d (%s)",
						run+1, stats.SSHRecords, stats.SSHRecordsPresent, want, present, stats)
				}
				if !strings.Contains(stats.String(), ", "+strconv.Itoa(want)+" SSH records") {
					t.Fatalf("import %d: summary %q does not report the SSH records", run+1, stats)
				}
				checkSSHImported(t, dst, fx)
				checkSSHServed(t, dst, fx)
			}
		})
	}
}

// TestImportSSHFromMayflySQLDatabase: --from postgresql:<dsn> naming a
// Mayfly database is opened read-only (MayflySourceError) and carries the
// SSH records, as step-ca db import does.
func TestImportSSHFromMayflySQLDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	name, _ := createDB(t, adminDB(t, true), true)
	dsn := "postgresql://postgres@127.0.0.1:5432/?sslmode=disable"
	st, err := mayflydb.Open(ctx, &mayflydb.Options{Type: "postgresql", DataSource: dsn, Database: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fx := newFixture(t, 0, 0, 0)
	writeSSH(t, st, fx)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = OpenStep(ctx, "postgresql://postgres@127.0.0.1:5432/"+name+"?sslmode=disable", StepOptions{})
	var m *MayflySourceError
	if !errors.As(err, &m) {
		t.Fatalf("OpenStep of a Mayfly database = %v, want a MayflySourceError", err)
	}
	ro, err := mayflydb.Open(ctx, &mayflydb.Options{Type: m.Type, DataSource: m.DataSource, Database: m.Database, ReadOnly: true}, nil)
	if err != nil {
		t.Fatalf("open the source read-only: %v", err)
	}
	src, err := FromStore(ro, m.Display)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, _ := openBadger(t)
	stats, err := Import(ctx, dst, src, Options{})
	if n := len(fx.sshCerts) + len(fx.sshRevs); err != nil || stats.SSHRecords != n {
		t.Fatalf("import: %v, %v; want %d SSH records", stats, err, n)
	}
	checkSSHImported(t, dst, fx)
	checkSSHServed(t, dst, fx)
}

// inventoryStore is a Mayfly store that lists its certificates.
type inventoryStore interface {
	store.Store
	store.Inventory
}

// badSSHSource is a Mayfly store whose SSH scan yields one record (or
// fails).
type badSSHSource struct {
	inventoryStore
	cert *store.SSHCertificate
	err  error
}

func (b badSSHSource) SSHScanCertificates(ctx context.Context, fn func(*store.SSHCertificate) error) error {
	if b.err != nil {
		return b.err
	}
	return fn(b.cert)
}

func (b badSSHSource) SSHScanRevocations(context.Context, func(*store.Revocation) error) error {
	return nil
}

// TestImportSSHFromStoreRefusesBadRecords: a Mayfly source's SSH record
// that is not a certificate of its serial, or one over the size limit,
// stops the import with the source, table and serial named, and the
// target keeps what it held; a scan failure names the source and table.
func TestImportSSHFromStoreRefusesBadRecords(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, 0, 0, 0)
	for _, tc := range []struct {
		name string
		src  badSSHSource
		want string
	}{
		{"garbage", badSSHSource{cert: &store.SSHCertificate{Serial: "5555", Wire: []byte("not ssh")}},
			"source bad source: table ssh_certs, serial 5555: parse ssh certificate"},
		{"other serial", badSSHSource{cert: &store.SSHCertificate{Serial: "5555", Wire: fx.sshCerts[0].Wire}},
			"source bad source: table ssh_certs, key 5555: the certificate's serial is"},
		{"too large", badSSHSource{cert: &store.SSHCertificate{Serial: "5555", Wire: make([]byte, maxSSHWire+1)}},
			"source bad source: table ssh_certs, serial 5555: the record is 524289 bytes long, the limit is 524288"},
		{"scan fails", badSSHSource{err: errors.New("connection reset")},
			"source bad source: table ssh_certs: connection reset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			inner, _ := openBadger(t)
			tc.src.inventoryStore = inner
			src, err := FromStore(tc.src, "bad source")
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			dst, _ := openBadger(t)
			kept := fx.sshCerts[1]
			if err := dst.StoreSSHCertificate(ctx, kept); err != nil {
				t.Fatal(err)
			}
			_, err = Import(ctx, dst, src, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("import: %v, want one line containing %q", err, tc.want)
			}
			if got, err := dst.GetSSHCertificate(ctx, kept.Serial); err != nil || string(got.Wire) != string(kept.Wire) {
				t.Fatalf("the target lost its ssh certificate %s: %v", kept.Serial, err)
			}
		})
	}
}

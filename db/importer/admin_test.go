package importer

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/db/memory"
)

// TestImportAdminTables: migrating between Mayfly stores carries the admin
// tables once; a second run finds them present.
func TestImportAdminTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, _ := openBadger(t)
	created := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	prov := &admin.Provisioner{ID: "p1", AuthorityID: admin.DefaultAuthorityID, Type: "JWK", Name: "dev",
		Config: json.RawMessage(`{"type":"JWK","name":"dev"}`), CreatedAt: created}
	adm := &admin.Admin{ID: "a1", AuthorityID: admin.DefaultAuthorityID, ProvisionerID: "p1", Subject: "step", Type: admin.TypeSuper, CreatedAt: created}
	if err := src.SaveAdmin(ctx, 0, admin.Change{Admins: []*admin.Admin{adm}, Provisioners: []*admin.Provisioner{prov}, SetPolicy: true, Policy: json.RawMessage(`{"x509":{}}`)}); err != nil {
		t.Fatal(err)
	}
	source, err := FromStore(src, "badger source")
	if err != nil {
		t.Fatal(err)
	}
	dst := memory.New()
	for i, want := range [][2]int{{2, 0}, {0, 2}} {
		stats, err := Import(ctx, dst, source, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if stats.AdminRecords != want[0] || stats.AdminRecordsPresent != want[1] {
			t.Fatalf("run %d: %d admin records written, %d present; want %v", i+1, stats.AdminRecords, stats.AdminRecordsPresent, want)
		}
	}
	got, err := dst.LoadAdmin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Admins) != 1 || got.Admins[0].Subject != "step" || len(got.Provisioners) != 1 || got.Provisioners[0].Name != "dev" || got.Version != 1 || string(got.Policy) != `{"x509":{}}` {
		t.Fatalf("target admin tables: %+v", got)
	}
}

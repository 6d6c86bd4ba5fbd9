package sqlstore

import (
	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

// QueryFunc runs a query in the caller's transaction and returns its rows
// and how to close them.
type QueryFunc func(query string) (Rows, func(), error)

// ReadAdminTables fills r's policy, admins and provisioners from their
// tables (one data column each), through query inside the caller's
// read transaction; r.Version is the caller's.
func ReadAdminTables(query QueryFunc, r *admin.Records) error {
	each := func(q string, fn func([]byte) error) error {
		rows, done, err := query(q)
		if err != nil {
			return err
		}
		defer done()
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				return err
			}
			if err := fn(b); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	if err := each(`SELECT data FROM authority_policies`, func(b []byte) error {
		r.Policy = b
		return nil
	}); err != nil {
		return err
	}
	if err := each(`SELECT data FROM admins`, func(b []byte) error {
		a, err := steplayout.DecodeAdmin(b)
		r.Admins = append(r.Admins, a)
		return err
	}); err != nil {
		return err
	}
	return each(`SELECT data FROM provisioners`, func(b []byte) error {
		p, err := steplayout.DecodeProvisioner(b)
		r.Provisioners = append(r.Provisioners, p)
		return err
	})
}

// AdminSQL is a backend's statements for the admin tables: the upserts
// take (id, data), DeletePolicy takes (id).
type AdminSQL struct {
	UpsertAdmin, UpsertProvisioner, UpsertPolicy, DeletePolicy string
}

// WriteAdminChange writes the encoded admins and provisioners of c, and
// its policy when c sets it (deleted when empty), through exec inside the
// caller's transaction (after it moved the version row).
func WriteAdminChange(exec func(query string, args ...any) error, q AdminSQL, as, ps []steplayout.AdminRecord, c admin.Change) error {
	for _, r := range as {
		if err := exec(q.UpsertAdmin, r.ID, r.Data); err != nil {
			return err
		}
	}
	for _, r := range ps {
		if err := exec(q.UpsertProvisioner, r.ID, r.Data); err != nil {
			return err
		}
	}
	if !c.SetPolicy {
		return nil
	}
	if len(c.Policy) == 0 {
		return exec(q.DeletePolicy, steplayout.PolicyKey)
	}
	return exec(q.UpsertPolicy, steplayout.PolicyKey, []byte(c.Policy))
}

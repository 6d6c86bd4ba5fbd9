package importer

import (
	"context"
	"errors"
	"fmt"

	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/authority/store"
)

// AdminSource is implemented by sources that carry the admin tables
// (remote administration's admins and provisioners): a Mayfly store
// (FromStore). step-ca's own admin tables hold linkedca protobuf and are
// counted as skipped instead.
type AdminSource interface {
	AdminRecords(ctx context.Context) (*admin.Records, error)
}

// AdminRecords implements AdminSource when the store keeps admin tables.
func (s storeSource) AdminRecords(ctx context.Context) (*admin.Records, error) {
	as, ok := s.st.(admin.Store)
	if !ok {
		return &admin.Records{}, nil
	}
	return as.LoadAdmin(ctx)
}

// importAdmin copies the records of src's admin tables that dst lacks (by
// ID), and the authority policy when dst has none, in one save; records
// already in dst are counted as present and left as they are.
func importAdmin(ctx context.Context, dst store.Store, src Source, stats *Stats) error {
	as, ok := src.(AdminSource)
	if !ok {
		return nil
	}
	recs, err := as.AdminRecords(ctx)
	if err != nil {
		return fmt.Errorf("admin tables: %w", err)
	}
	if len(recs.Admins) == 0 && len(recs.Provisioners) == 0 && recs.Policy == nil {
		return nil
	}
	ad, ok := dst.(admin.Store)
	if !ok {
		return errors.New("admin tables: the target database cannot hold them")
	}
	for attempt := 0; ; attempt++ {
		have, err := ad.LoadAdmin(ctx)
		if err != nil {
			return fmt.Errorf("admin tables: %w", err)
		}
		ids := map[string]bool{}
		for _, a := range have.Admins {
			ids["a/"+a.ID] = true
		}
		for _, p := range have.Provisioners {
			ids["p/"+p.ID] = true
		}
		var admins []*admin.Admin
		var provs []*admin.Provisioner
		present := 0
		for _, a := range recs.Admins {
			if ids["a/"+a.ID] {
				present++
			} else {
				admins = append(admins, a)
			}
		}
		for _, p := range recs.Provisioners {
			if ids["p/"+p.ID] {
				present++
			} else {
				provs = append(provs, p)
			}
		}
		c := admin.Change{Admins: admins, Provisioners: provs}
		if recs.Policy != nil && have.Policy == nil {
			c.SetPolicy, c.Policy = true, recs.Policy
		}
		if !c.Empty() {
			err = ad.SaveAdmin(ctx, have.Version, c)
			if errors.Is(err, admin.ErrConflict) && attempt < 3 {
				continue
			}
			if err != nil {
				return fmt.Errorf("admin tables: %w", err)
			}
		}
		stats.AdminRecords, stats.AdminRecordsPresent = len(admins)+len(provs), present
		return nil
	}
}

package main

import (
	"strings"

	"github.com/go-chi/chi/v5"

	apiadmin "github.com/mayfly-pki/mayfly/api/admin"
	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/acme"
	"github.com/mayfly-pki/mayfly/authority/acme/validate"
	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/authority/store"
)

// newACME builds the ACME service when a database is configured (step-ca
// disables ACME without one) and the store implements the ACME port. The
// validators resolve names with the process resolver, which --resolver
// replaces before this runs. Nonces stay in the SQL database, which
// several CAs may share (single use across HA nodes); with Badger or bbolt,
// whose lock admits one process, they stay in memory: no write per request.
func newACME(cfg *config.Config, st store.Store, log logrus.FieldLogger) *acme.Service {
	as, ok := st.(store.ACMEStore)
	if cfg.DB == nil || !ok {
		return nil
	}
	d := acme.Deps{Store: as, Validator: validate.New(validate.Options{}), Logger: log}
	switch strings.ToLower(cfg.DB.Type) {
	case "mysql", "postgresql":
	default:
		d.Nonces = acme.NewMemoryNonces(0, 0, nil)
		d.SingleWriter = true
	}
	return acme.New(d)
}

// mounter is a group of admin routes.
type mounter interface{ Mount(chi.Router) }

// mounts mounts several route groups.
type mounts []mounter

func (m mounts) Mount(r chi.Router) {
	for _, x := range m {
		x.Mount(r)
	}
}

// withEAB adds the ACME EAB routes (/admin/acme/eab/...) to the admin API
// when ACME is served.
func withEAB(admin mounter, svc *acme.Service, d apiadmin.Deps) mounter {
	if svc == nil {
		return admin
	}
	return mounts{admin, apiadmin.NewEAB(d, svc)}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
)

// adminEnabled reports authority.enableAdmin.
func adminEnabled(cfg *config.Config) bool {
	return cfg.Authority != nil && cfg.Authority.EnableAdmin
}

// newAdmin builds remote administration when ca.json enables it: the
// service over the database's admin tables, which checks every change by
// building the configuration it would give and, once saved, rebuilds the
// snapshot (here, and on the other nodes through Run's polling).
func (d *daemon) newAdmin(cfg *config.Config) error {
	if !adminEnabled(cfg) {
		return nil
	}
	if cfg.DB == nil {
		return errors.New("authority.enableAdmin: remote administration requires a database (db)")
	}
	st, ok := d.store.(admin.Store)
	if !ok {
		return fmt.Errorf("authority.enableAdmin: the %s database cannot hold the admin tables", d.storeName)
	}
	d.admin = admin.New(admin.Deps{Store: st, Logger: d.logger, Check: d.checkAdmin, Changed: d.adminChanged})
	return d.bootstrapAdmin(cfg)
}

// bootstrapAdmin gives a CA whose admin tables are empty (remote
// administration just enabled on a ca.json CA) its first super admin,
// "step" of the first JWK provisioner of ca.json, as step-ca does. Nodes
// starting together on one database store it once (the version check).
func (d *daemon) bootstrapAdmin(cfg *config.Config) error {
	var name, kid string
	for _, raw := range cfg.Authority.Provisioners {
		var p struct {
			Type, Name string
			Key        struct {
				KID string `json:"kid"`
			} `json:"key"`
		}
		if json.Unmarshal(raw, &p) == nil && strings.EqualFold(p.Type, "JWK") && p.Key.KID != "" {
			name, kid = p.Name, p.Key.KID
			break
		}
	}
	if name == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done, err := d.admin.BootstrapAdmin(ctx, "step", name+":"+kid)
	if err != nil {
		return fmt.Errorf("authority.enableAdmin: storing the first super admin: %w", err)
	}
	if done {
		stdLog.Printf("admin: the admin tables were empty; super admin %q of provisioner %q created", "step", name)
	}
	return nil
}

// adminRecords loads the admin tables for a snapshot (nil when remote
// administration is off).
func (d *daemon) adminRecords(ctx context.Context) (*admin.Records, error) {
	if d.admin == nil {
		return nil, nil
	}
	r, err := d.admin.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load the admin tables: %w", err)
	}
	return r, nil
}

// checkAdmin refuses a change whose records would not give a working
// configuration: the snapshot does not build, or a stored provisioner
// would not initialize (it would be disabled).
func (d *daemon) checkAdmin(_ context.Context, r *admin.Records) error {
	cfg := d.cfg.Load()
	if cfg == nil {
		return nil // starting: bootstrapAdmin
	}
	snap, err := buildSnapshot(cfg, buildDeps{password: d.password, store: d.store, storeName: d.storeName,
		startTime: d.start, logger: d.logger, keys: d.keys, admin: r}) // no obs: a check, not served
	if err != nil {
		return errs.Exact(errs.BadRequest, err.Error(), err)
	}
	_, live := r.Live()
	for _, rec := range live {
		p, ok := snap.Authority.Provisioners().ByName(rec.Name)
		if !ok {
			return errs.Exact(errs.BadRequest, fmt.Sprintf("provisioner %s would not load: unknown or unsupported type %s", rec.Name, rec.Type), nil)
		}
		if u, ok := p.(*provisioner.Uninitialized); ok {
			return errs.Exact(errs.BadRequest, fmt.Sprintf("provisioner %s would not load: %v", rec.Name, u.Reason()), u.Reason())
		}
	}
	return nil
}

// adminChanged rebuilds the snapshot from the running ca.json and the
// admin tables and swaps it in; on failure the running snapshot stays.
func (d *daemon) adminChanged(ctx context.Context) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	if d.cfg.Load() == nil || d.server == nil {
		return // starting: the first snapshot reads the tables
	}
	r, err := d.adminRecords(ctx)
	if err != nil {
		d.logger.WithError(err).Error("admin reload failed; the running configuration is kept")
		return
	}
	snap, err := buildSnapshot(d.cfg.Load(), buildDeps{password: d.password, store: d.store, storeName: d.storeName,
		startTime: d.start, logger: d.logger, obs: d.obs, keys: d.keys, admin: r})
	if err != nil {
		d.logger.WithError(err).Error("admin reload failed; the running configuration is kept")
		return
	}
	if err := d.server.Swap(snap); err != nil {
		d.logger.WithError(err).Error("admin reload failed; the running configuration is kept")
		return
	}
	stdLog.Printf("admin change at version %d applied: %d provisioners, %d admins", r.Version,
		snap.Authority.Provisioners().Len(), snap.Authority.Admins().Len())
}

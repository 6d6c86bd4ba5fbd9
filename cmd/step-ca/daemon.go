package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/api"
	apiadmin "github.com/mayfly-pki/mayfly/api/admin"
	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/acme"
	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/ca"
	"github.com/mayfly-pki/mayfly/db"
	"github.com/mayfly-pki/mayfly/db/badger"
	"github.com/mayfly-pki/mayfly/internal/logfmt"
	"github.com/mayfly-pki/mayfly/internal/meter"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/internal/version"
	"github.com/mayfly-pki/mayfly/kms"
)

// daemon is one running step-ca: the store, the server and the current config.
type daemon struct {
	path      string
	password  []byte
	start     time.Time
	logger    *logrus.Logger
	store     store.Store
	storeName string
	retention *ca.Retention // nil when neither pruning nor maintenance applies
	server    *ca.Server
	insecure  *ca.InsecureServer // nil without insecureAddress or SCEP
	obs       *observability
	cfg       atomic.Pointer[config.Config]
	tlsJSON   atomic.Pointer[json.RawMessage]
	reloadMu  sync.Mutex
	closeOnce sync.Once
	keys      *kms.Loader
	admin     *admin.Service // nil unless authority.enableAdmin
	acme      *acme.Service  // nil without a database
}

func newLogger(cfg *config.Config, out io.Writer) *logrus.Logger {
	l := logrus.New()
	l.Out = out
	if cfg.LoggerFormat() == "json" {
		l.Formatter = &logrus.JSONFormatter{}
	} else {
		// Same bytes as logrus.TextFormatter{DisableColors: true,
		// FullTimestamp: true}, without its per-line allocations.
		l.Formatter = logfmt.Text{}
	}
	return l
}

func dbOptions(cfg *config.Config) *db.Options {
	if cfg.DB == nil {
		return nil
	}
	return &db.Options{
		Type: cfg.DB.Type, DataSource: cfg.DB.DataSource, ValueDir: cfg.DB.ValueDir,
		Database: cfg.DB.Database, BadgerFileLoadingMode: cfg.DB.BadgerFileLoadingMode,
		ReadOnly: cfg.DB.ReadOnly,
	}
}

// openStore opens the database of cfg, the ca.json at path. The refusal of
// a step-ca Badger v1/v2 directory names path in the import command it
// suggests.
func openStore(ctx context.Context, cfg *config.Config, path string, log logrus.FieldLogger) (store.Store, error) {
	return openMeteredStore(ctx, cfg, path, log, nil)
}

// openMeteredStore is openStore; m (nil: none) receives the commits'
// durations and batch sizes.
func openMeteredStore(ctx context.Context, cfg *config.Config, path string, log logrus.FieldLogger, m meter.Commits) (store.Store, error) {
	o := dbOptions(cfg)
	if o != nil {
		o.Meter = m
	}
	st, err := db.Open(ctx, o, log)
	var stepFormat *badger.StepFormatError
	if errors.As(err, &stepFormat) {
		stepFormat.Config = path
	}
	return st, err
}

func newDaemon(path string, cfg *config.Config, password []byte, start time.Time, quiet bool) (*daemon, error) {
	d := &daemon{path: path, password: password, start: start, logger: newLogger(cfg, os.Stderr)}
	for _, k := range cfg.UnknownKeys {
		d.logger.WithField("key", k).Warn("unknown key in ca.json is ignored")
	}
	obs, err := newObservability(cfg, d.logger)
	if err != nil {
		return nil, err
	}
	d.obs = obs
	d.keys = newKeyLoader(cfg, d.obs.metered)
	st, err := openMeteredStore(context.Background(), cfg, path, d.logger, d.obs.metered)
	if err != nil {
		d.close()
		return nil, withRepairHint(err, path)
	}
	d.store, d.storeName = st, storeName(cfg)
	if cfg.DB == nil {
		stdLog.Println("WARNING: No database is configured. Revocation is disabled and used tokens are remembered only until restart.")
	}
	if cfg.DB != nil && cfg.DB.ReadOnly {
		stdLog.Printf("WARNING: The %s database is open read-only (hot standby): certificates cannot be issued, renewed or revoked until step-ca restarts without --read-only (db.readOnly).", d.storeName)
	} else {
		d.retention = newRetention(cfg, st, d.storeName, d.logger)
	}
	if err := d.newAdmin(cfg); err != nil {
		d.close()
		return nil, err
	}
	recs, err := d.adminRecords(context.Background())
	if err != nil {
		d.close()
		return nil, err
	}
	snap, err := buildSnapshot(cfg, buildDeps{password: password, store: st, storeName: d.storeName, startTime: start, logger: d.logger, obs: d.obs, keys: d.keys, admin: recs})
	if err != nil {
		d.close()
		return nil, err
	}
	d.setConfig(cfg)
	deps := api.Deps{
		Authority:  func() *authority.Authority { return d.server.Authority() },
		TLSOptions: func() json.RawMessage { return *d.tlsJSON.Load() },
		Version:    version.Version,
		Logger:     d.logger,
		Meter:      d.obs.metered,
		Audit:      d.obs.audit != nil,
		ACME:       newACME(cfg, st, d.logger),
	}
	d.acme = deps.ACME
	if d.admin != nil {
		deps.Admin = withEAB(apiadmin.NewHandler(apiadmin.Deps{Authority: deps.Authority, Logger: d.logger}, d.admin),
			deps.ACME, apiadmin.Deps{Authority: deps.Authority, Logger: d.logger})
	}
	h := api.New(deps)
	srv, err := ca.NewServer(ca.Options{Address: cfg.Address, Handler: h, Logger: d.logger}, snap)
	if err != nil {
		d.close()
		return nil, err
	}
	d.server = srv
	if d.insecure, err = d.newInsecure(cfg, snap, deps); err != nil {
		d.close()
		return nil, err
	}
	d.checkSCEP(snap)
	d.obs.snapshot(snap)
	if !quiet {
		d.banner(cfg, snap)
		d.obs.banner()
	}
	return d, nil
}

// storeName names the backend in messages: ca.json db.type, or "in-memory".
func storeName(cfg *config.Config) string {
	if cfg.DB == nil {
		return "in-memory"
	}
	return cfg.DB.Type
}

// newRetention builds the background job for db.retention (pruning) and the
// store's maintenance (pruning of expired used tokens on every backend, and
// Badger's value-log GC), or nil when neither applies.
// The job follows the configuration at start: db changes need a restart.
func newRetention(cfg *config.Config, st store.Store, name string, log logrus.FieldLogger) *ca.Retention {
	o := ca.RetentionOptions{Logger: log}
	if m, ok := st.(store.Maintainer); ok {
		o.Maintainer = m
	}
	if cfg.DB != nil && cfg.DB.Retention != nil {
		inv, ok := st.(store.Inventory)
		if ok {
			o.Inventory, o.Retention = inv, cfg.DB.Retention.Duration
		} else {
			log.WithField("db.type", name).Warn("db.retention is set but the database cannot prune certificate records; it is ignored")
		}
	}
	return ca.NewRetention(o)
}

func (d *daemon) setConfig(cfg *config.Config) {
	d.cfg.Store(cfg)
	var raw json.RawMessage
	if r, err := cfg.ResolveTLS(); err == nil {
		raw, _ = json.Marshal(r.Options)
	}
	d.tlsJSON.Store(&raw)
}

// banner prints step-ca's start-up lines (wire-spec §2.2).
func (d *daemon) banner(cfg *config.Config, snap *ca.Snapshot) {
	stdLog.Println("Building new tls configuration using step-ca x509 Signer Interface")
	stdLog.Printf("Starting Mayfly CA/%s (%s)", version.Version, version.Platform())
	stdLog.Printf("Config file: %s", d.path)
	host := cfg.DNSNames[0]
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := ""
	if i := strings.LastIndex(cfg.Address, ":"); i >= 0 {
		port = cfg.Address[i:]
	}
	stdLog.Printf("The primary server URL is https://%s%s", host, port)
	stdLog.Printf("Root certificates are available at https://%s%s/roots.pem", host, port)
	if len(cfg.DNSNames) > 1 {
		stdLog.Printf("Additional configured hostnames: %s", strings.Join(cfg.DNSNames[1:], ", "))
	}
	for _, r := range snap.Authority.Roots() {
		stdLog.Printf("X.509 Root Fingerprint: %s", pemutil.Fingerprint(r))
	}
	// step-ca prints the CA's own SSH keys (host first) in authorized_keys
	// form without a comment; ssh.keys are not printed.
	hostKey, userKey := snap.Authority.SSHCAKeys()
	if hostKey != nil {
		stdLog.Printf("SSH Host CA Key: %s", bytes.TrimSpace(gossh.MarshalAuthorizedKey(hostKey)))
	}
	if userKey != nil {
		stdLog.Printf("SSH User CA Key: %s", bytes.TrimSpace(gossh.MarshalAuthorizedKey(userKey)))
	}
	stdLog.Printf("Serving HTTPS on %s ...", d.server.Addr())
	if d.insecure != nil {
		stdLog.Printf("Serving HTTP on %s ...", d.insecure.Addr())
	}
}

func (d *daemon) run(ctx context.Context) error {
	defer d.close()
	// The retention job stops (and its run in progress ends) before the
	// store closes.
	jobCtx, stopJob := context.WithCancel(ctx)
	jobDone := make(chan struct{})
	go func() { defer close(jobDone); d.retention.Run(jobCtx) }()
	defer func() { stopJob(); <-jobDone }()
	if d.admin != nil {
		// Changes saved by other nodes sharing the database.
		adminCtx, stopAdmin := context.WithCancel(ctx)
		adminDone := make(chan struct{})
		go func() { defer close(adminDone); d.admin.Run(adminCtx) }()
		defer func() { stopAdmin(); <-adminDone }()
	}
	if d.insecure != nil {
		// It stops with the HTTPS server, whatever stops that.
		insecureCtx, stopInsecure := context.WithCancel(ctx)
		insecureDone := make(chan struct{})
		go func() {
			defer close(insecureDone)
			if err := d.insecure.Run(insecureCtx); err != nil {
				d.logger.WithError(err).Error("insecure server stopped")
			}
		}()
		defer func() { stopInsecure(); <-insecureDone }()
	}
	metricsCtx, stopMetrics := context.WithCancel(ctx)
	metricsDone := make(chan struct{})
	go func() { defer close(metricsDone); d.obs.run(metricsCtx, d.logger) }()
	defer func() { stopMetrics(); <-metricsDone }()
	err := d.server.Run(ctx)
	if err == nil {
		stdLog.Println("shutting down: requests in flight finished")
	}
	return err
}

// reload re-reads ca.json and swaps in a new snapshot; on any problem the
// running configuration stays and every problem is logged.
func (d *daemon) reload() {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	stdLog.Printf("reloading %s ...", d.path)
	cfg, err := config.Load(d.path)
	if err != nil {
		d.logger.WithError(err).Error("reload failed; the running configuration is kept")
		return
	}
	if old := d.cfg.Load(); !reflect.DeepEqual(old.DB, cfg.DB) {
		d.logger.Error("reload failed: the db block changed; restart step-ca to change the database")
		return
	}
	if adminEnabled(cfg) != (d.admin != nil) {
		d.logger.Error("reload failed: authority.enableAdmin changed; restart step-ca to change it")
		return
	}
	recs, err := d.adminRecords(context.Background())
	if err != nil {
		d.logger.WithError(err).Error("reload failed; the running configuration is kept")
		return
	}
	inheritIssuerPassword(d.cfg.Load(), cfg)
	snap, err := buildSnapshot(cfg, buildDeps{password: d.password, store: d.store, storeName: d.storeName, startTime: d.start, logger: d.logger, obs: d.obs, keys: d.keys, admin: recs})
	if err != nil {
		d.logger.WithError(err).Error("reload failed; the running configuration is kept")
		return
	}
	if err := d.server.Swap(snap); err != nil {
		d.logger.WithError(err).Error("reload failed; the running configuration is kept")
		return
	}
	d.checkSCEP(snap)
	d.obs.snapshot(snap)
	d.setConfig(cfg)
	stdLog.Printf("reloaded %s: %d provisioners", d.path, snap.Authority.Provisioners().Len())
}

func (d *daemon) close() {
	d.closeOnce.Do(func() {
		if d.obs != nil {
			defer d.obs.close()
		}
		if d.acme != nil {
			d.acme.Close() // its background retries write the store
		}
		if d.keys != nil {
			if err := d.keys.Close(); err != nil {
				fmt.Fprintf(os.Stderr, "error closing the key manager: %v\n", err)
			}
		}
		if d.store != nil {
			if err := d.store.Close(); err != nil {
				fmt.Fprintf(os.Stderr, "error closing the database: %v\n", err)
			}
		}
	})
}

package main

import (
	"context"
	"runtime"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/ca"
	"github.com/mayfly-pki/mayfly/ca/metrics"
	"github.com/mayfly-pki/mayfly/internal/audit"
	"github.com/mayfly-pki/mayfly/internal/meter"
	"github.com/mayfly-pki/mayfly/internal/version"
)

// observability is the daemon's metrics (metricsAddress) and audit log
// (audit), both fixed at start: a reload that changes them is logged and
// needs a restart to take effect.
type observability struct {
	prom    *metrics.Prometheus // nil without metricsAddress
	server  *metrics.Server
	audit   *audit.Log // nil without an audit block
	metered meter.Meter
}

func newObservability(cfg *config.Config, log logrus.FieldLogger) (*observability, error) {
	o := &observability{metered: meter.Nop{}}
	if cfg.MetricsAddress != "" {
		o.prom = metrics.New(metrics.Build{Version: version.Version, GoVersion: runtime.Version()})
		srv, err := metrics.Listen(cfg.MetricsAddress, o.prom)
		if err != nil {
			return nil, err
		}
		o.server, o.metered = srv, o.prom
	}
	if a := cfg.Audit; a != nil {
		path := a.File
		if a.AuditToStdout() {
			path = audit.Stdout
		}
		l, err := audit.Open(audit.Options{Path: path, Chain: a.HashChain, OnError: func(err error) {
			log.WithError(err).Error("cannot write the audit log")
		}})
		if err != nil {
			o.close()
			return nil, err
		}
		o.audit = l
	}
	return o, nil
}

// sink is the authority's audit sink (nil interface when there is none).
func (o *observability) sink() audit.Sink {
	if o == nil || o.audit == nil {
		return nil
	}
	return o.audit
}

// snapshot records what the metrics report of a new configuration.
func (o *observability) snapshot(s *ca.Snapshot) {
	if o.prom != nil {
		o.prom.SetCACertificates(s.Authority.Roots(), s.Authority.Issuer().Chain())
	}
}

// run serves the metrics until ctx ends.
func (o *observability) run(ctx context.Context, log logrus.FieldLogger) {
	if o.server == nil {
		return
	}
	if err := o.server.Run(ctx); err != nil {
		log.WithError(err).Error("metrics server stopped")
	}
}

func (o *observability) banner() {
	if o.server != nil {
		stdLog.Printf("Serving metrics on http://%s/metrics ...", o.server.Addr())
	}
}

func (o *observability) close() {
	if o.server != nil {
		_ = o.server.Close() // a listener that never served; else already closed
	}
	if o.audit != nil {
		if err := o.audit.Close(); err != nil {
			stdLog.Printf("error closing the audit log: %v", err)
		}
	}
}

// certificates is the authority's meter (nil on a nil observability).
func (o *observability) certificates() meter.Certificates {
	if o == nil {
		return nil
	}
	return o.metered
}

package authority

import (
	"context"
	"errors"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// readyProbeSerial is the serial the readiness probe looks up: no
// certificate has serial 0 (RFC 5280 §4.1.2.2: serials are positive).
const readyProbeSerial = "0"

// Ready reports whether this snapshot can issue: the database answers a
// read (a revocation lookup that finds nothing) and the issuing key signs a
// certificate that verifies against the intermediate. It returns an
// Unavailable error naming what is not ready. It writes nothing and may be
// called as often as a load balancer probes.
func (a *Authority) Ready(ctx context.Context) error {
	_, err := a.store.GetRevocation(ctx, readyProbeSerial)
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errs.Is(err, errs.NotImplemented) {
		return errs.E(errs.Unavailable, "the "+a.storeName+" database is not reachable", err)
	}
	if err := a.issuer.Check(); err != nil {
		return errs.E(errs.Unavailable, "the issuing key is not usable", err)
	}
	return nil
}

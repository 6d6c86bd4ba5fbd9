package authority

import (
	"context"
	"strconv"

	"github.com/mayfly-pki/mayfly/ssh"
)

// sshDecided reports an SSH decision (meter.OpSSH*) like decided does for
// X.509: a count to the meter and a record to the audit log. The record's
// subject is the certificate's key ID, its SANs the principals; serial
// names the certificate of a revocation. prov "" takes the issued
// certificate's provisioner when there is one.
func (a *Authority) sshDecided(ctx context.Context, op, prov string, res *SSHIssued, serial string, err error) {
	if prov == "" && res != nil {
		prov = res.Provisioner.Name
	}
	a.meter.Certificate(op, prov, result(err))
	if a.audit == nil {
		return
	}
	r := a.newRecord(ctx, op, prov, err)
	r.Serial = serial
	if res != nil && res.Cert != nil {
		c := res.Cert
		r.Subject, r.SANs = c.KeyId, append([]string(nil), c.ValidPrincipals...)
		r.Serial = strconv.FormatUint(c.Serial, 10)
		nb, na := ssh.Time(c.ValidAfter).UTC(), ssh.Time(c.ValidBefore).UTC()
		r.NotBefore, r.NotAfter = &nb, &na
	}
	a.audit.Record(ctx, r)
}

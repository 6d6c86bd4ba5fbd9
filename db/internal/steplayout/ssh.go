package steplayout

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// SSHRecords are the key/value records of one SSH certificate, as step-ca
// writes them (wire-spec §6.3): ssh_certs[serial] = wire bytes; for a host
// certificate ssh_hosts[principal] = serial and ssh_host_principals
// [principal] = {"Serial","Expiry"}; for a user certificate
// ssh_users[principal] = serial. Principals are lower-cased.
type SSHRecord struct {
	Table string
	Key   string
	Value []byte
}

// SSHCertificateRecords returns c's records, ssh_certs first.
func SSHCertificateRecords(c *store.SSHCertificate) ([]SSHRecord, error) {
	out := []SSHRecord{{Table: TableSSHCerts, Key: c.Serial, Value: c.Wire}}
	for _, p := range c.Principals {
		p = strings.ToLower(p)
		if p == "" {
			continue
		}
		if !c.Host {
			out = append(out, SSHRecord{Table: TableSSHUsers, Key: p, Value: []byte(c.Serial)})
			continue
		}
		v, err := json.Marshal(hostPrincipal{Serial: c.Serial, Expiry: c.ValidBefore.Unix()})
		if err != nil {
			return nil, err
		}
		out = append(out, SSHRecord{Table: TableSSHHosts, Key: p, Value: []byte(c.Serial)},
			SSHRecord{Table: TableSSHPrincipals, Key: p, Value: v})
	}
	return out, nil
}

type hostPrincipal struct {
	Serial string
	Expiry int64
}

// ParseSSHHost decodes an ssh_host_principals record.
func ParseSSHHost(principal string, v []byte) (store.SSHHost, error) {
	var h hostPrincipal
	if err := json.Unmarshal(v, &h); err != nil {
		return store.SSHHost{}, fmt.Errorf("table %s, key %s: %w", TableSSHPrincipals, principal, err)
	}
	return store.SSHHost{Principal: principal, Serial: h.Serial, Expiry: time.Unix(h.Expiry, 0)}, nil
}

// ParseSSHRevocation decodes revoked_ssh_certs[serial] (the JSON of a
// store.Revocation); a record without a Serial takes its key's, one with
// another Serial is refused.
func ParseSSHRevocation(serial string, v []byte) (*store.Revocation, error) {
	var r store.Revocation
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("table %s, serial %s: decode revocation: %w", TableRevokedSSHCert, serial, err)
	}
	switch {
	case r.Serial == "":
		r.Serial = serial
	case r.Serial != serial:
		return nil, fmt.Errorf("table %s, key %s: the record's Serial is %s", TableRevokedSSHCert, serial, r.Serial)
	}
	return &r, nil
}

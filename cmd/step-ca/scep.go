package main

import (
	"github.com/mayfly-pki/mayfly/api"
	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/ca"
	"github.com/mayfly-pki/mayfly/provisioner/scep"
)

// scepProvisioners returns the SCEP provisioners of a snapshot.
func scepProvisioners(a *authority.Authority) []*scep.Provisioner {
	var out []*scep.Provisioner
	for _, p := range a.Provisioners().All() {
		if s, ok := p.(*scep.Provisioner); ok {
			out = append(out, s)
		}
	}
	return out
}

// checkSCEP logs, as step-ca does at start (non-fatal), each SCEP
// provisioner that cannot decrypt: no decrypter of its own and an
// intermediate key that is not RSA.
func (d *daemon) checkSCEP(snap *ca.Snapshot) {
	iss := snap.Authority.Issuer()
	for _, p := range scepProvisioners(snap.Authority) {
		if _, _, err := p.Decrypter(iss.Certificate(), iss.Signer()); err != nil {
			stdLog.Printf("failed validating SCEP authority: %v", err)
		}
	}
}

// newInsecure starts listening on insecureAddress when it is set and a
// SCEP provisioner exists (wire-spec §2.6); nil otherwise.
func (d *daemon) newInsecure(cfg *config.Config, snap *ca.Snapshot, deps api.Deps) (*ca.InsecureServer, error) {
	if cfg.InsecureAddress == "" || len(scepProvisioners(snap.Authority)) == 0 {
		return nil, nil
	}
	return ca.NewInsecureServer(cfg.InsecureAddress, api.NewInsecure(deps))
}

package pki

import (
	"encoding/json"
	"fmt"

	"github.com/mayfly-pki/mayfly/authority/config"
)

// NewCAConfig returns the ca.json `step ca init` writes for the layout l
// (wire-spec §1.3): absolute root/crt/key paths, address and dnsNames from o,
// logger text, the badgerv2 db block unless o.NoDB, the one JWK provisioner,
// and step-ca's default tls block. Fields step does not write at init
// (backdate, template, commonName) stay unset.
func NewCAConfig(l Layout, o Options, prov *JWKProvisioner) (*config.Config, error) {
	raw, err := prov.raw()
	if err != nil {
		return nil, err
	}
	c := &config.Config{
		Root:             config.MultiString{l.RootCert},
		FederatedRoots:   nil,
		IntermediateCert: l.IntermediateCert,
		IntermediateKey:  l.IntermediateKey,
		Address:          o.Address,
		InsecureAddress:  "",
		DNSNames:         append([]string(nil), o.DNSNames...),
		Logger:           &config.Logger{Format: "text"},
		Authority: &config.Authority{
			Provisioners: []json.RawMessage{raw},
		},
		TLS: config.DefaultTLSOptions(),
	}
	if o.KMS != nil {
		c.IntermediateKey = o.KMS.Intermediate
		k := o.KMS.Block
		c.KMS = &k
	}
	if !o.NoDB {
		c.DB = &config.DB{Type: "badgerv2", DataSource: l.DBDir}
	}
	if o.ACME {
		c.Authority.Provisioners = append(c.Authority.Provisioners, json.RawMessage(`{"type":"ACME","name":"acme"}`))
	}
	if o.SSH {
		if err := addSSHConfig(c, l); err != nil {
			return nil, err
		}
	}
	if o.RemoteManagement {
		c.Authority.Provisioners, c.Authority.EnableAdmin = nil, true
	}
	return c, nil
}

// marshalCAConfig returns ca.json's bytes: tab-indented, no trailing newline.
func marshalCAConfig(l Layout, o Options, prov *JWKProvisioner) ([]byte, error) {
	c, err := NewCAConfig(l, o, prov)
	if err != nil {
		return nil, err
	}
	b, err := config.Marshal(c, false)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", l.CAConfig, err)
	}
	return b, nil
}

// marshalDefaults returns defaults.json's bytes (wire-spec §1.4): ca-url,
// ca-config, fingerprint, root in this order, tab-indented, without a
// trailing newline, as step writes it (json.MarshalIndent, like
// config.SaveDefaults).
func marshalDefaults(l Layout, caURL, fingerprint string) ([]byte, error) {
	d := config.Defaults{CAURL: caURL, CAConfig: l.CAConfig, Fingerprint: fingerprint, Root: l.RootCert}
	b, err := json.MarshalIndent(d, "", "\t")
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", l.Defaults, err)
	}
	return b, nil
}

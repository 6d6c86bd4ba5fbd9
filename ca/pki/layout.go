package pki

import "path/filepath"

// Layout holds the absolute paths `step ca init` writes below a step path
// (wire-spec §1.2).
type Layout struct {
	StepPath         string // the step path itself
	ConfigDir        string // config/
	CertsDir         string // certs/
	SecretsDir       string // secrets/
	DBDir            string // db/
	TemplatesDir     string // templates/
	RootCert         string // certs/root_ca.crt
	RootKey          string // secrets/root_ca_key
	IntermediateCert string // certs/intermediate_ca.crt
	IntermediateKey  string // secrets/intermediate_ca_key
	CAConfig         string // config/ca.json
	Defaults         string // config/defaults.json
}

// NewLayout returns the layout below stepPath, which must be absolute.
func NewLayout(stepPath string) Layout {
	j := func(p ...string) string { return filepath.Join(append([]string{stepPath}, p...)...) }
	return Layout{
		StepPath:         stepPath,
		ConfigDir:        j("config"),
		CertsDir:         j("certs"),
		SecretsDir:       j("secrets"),
		DBDir:            j("db"),
		TemplatesDir:     j("templates"),
		RootCert:         j("certs", "root_ca.crt"),
		RootKey:          j("secrets", "root_ca_key"),
		IntermediateCert: j("certs", "intermediate_ca.crt"),
		IntermediateKey:  j("secrets", "intermediate_ca_key"),
		CAConfig:         j("config", "ca.json"),
		Defaults:         j("config", "defaults.json"),
	}
}

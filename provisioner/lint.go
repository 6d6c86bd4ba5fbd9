package provisioner

// LintOptions is "lint" in authority and in a provisioner's ca.json entry:
// the certificate to be issued is linted with zlint before it is signed
// and refused when a lint finds an error. Lints names zlint lints
// ("e_sub_cert_aia_missing") or lint sources ("RFC5280", "CABF_BR"); empty
// means RFC 5280's lints.
type LintOptions struct {
	Enabled bool     `json:"enabled"`
	Lints   []string `json:"lints,omitempty"`
}

package config

import "strings"

// Audit is the top-level "audit" block, Mayfly's own: step-ca decodes ca.json
// with encoding/json, which ignores keys it does not know, so a ca.json with
// this block still loads in step-ca (which writes no audit log).
//
//	"audit": {"file": "/var/log/step-ca/audit.log", "hashChain": true}
type Audit struct {
	// File is the file the log is appended to (created 0600), or "stdout".
	File string `json:"file"`
	// HashChain makes every line carry the hash of the previous line and
	// its own, checked by `step-ca audit verify FILE`.
	HashChain bool `json:"hashChain,omitempty"`
}

// AuditToStdout reports whether a writes to the standard output.
func (a *Audit) AuditToStdout() bool {
	return a.File == "stdout" || a.File == "-"
}

func validateAudit(k *checker, a *Audit) {
	if a == nil {
		return
	}
	if strings.TrimSpace(a.File) == "" {
		k.add("audit.file", `required: the file the audit log is appended to, or "stdout"`)
	}
	if a.HashChain && a.AuditToStdout() {
		k.add("audit.hashChain", "a hash chain needs a file to continue across restarts; audit.file is stdout")
	}
}

package config

import (
	"encoding/json"
	"fmt"

	// zlint's lints register themselves in lint's registry when the zlint
	// package is linked in.
	_ "github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/mayfly-pki/mayfly/provisioner"
)

// validateLint reports every name in a "lint" block that is neither a
// zlint lint nor a lint source, under its JSON path.
func validateLint(k *checker, path string, o *provisioner.LintOptions) {
	if o == nil {
		return
	}
	reg := lint.GlobalRegistry()
	sources := map[string]bool{}
	for _, s := range reg.Sources() {
		sources[string(s)] = true
	}
	for i, l := range o.Lints {
		if !sources[l] && reg.ByName(l) == nil {
			k.add(fmt.Sprintf("%s.lints[%d]", path, i), "unknown lint or lint source %q (see step certificate lint --all for names; sources such as RFC5280, CABF_BR)", l)
		}
	}
}

// validateProvisionerLint checks a provisioner entry's "lint" block.
func validateProvisionerLint(k *checker, path, name string, obj map[string]json.RawMessage) {
	raw, ok := objectMember(obj, "lint")
	if !ok || isNull(raw) {
		return
	}
	var o provisioner.LintOptions
	if err := json.Unmarshal(raw, &o); err != nil {
		k.add(path+".lint", "provisioner %q: invalid lint: %s", name, err.Error())
		return
	}
	validateLint(k, path+".lint", &o)
}

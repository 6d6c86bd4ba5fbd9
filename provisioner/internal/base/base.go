// Package base parses what every provisioner type's ca.json entry shares:
// claims merged with the authority's, options.x509 templates,
// options.webhooks, and the entry as /provisioners serves it. A type's
// constructor calls Parse, then reads its own fields.
package base

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/webhook"
)

// Parts are the shared parts of a configured provisioner, immutable.
type Parts struct {
	Claims   provisioner.Resolved
	X509     *provisioner.X509Template // options.x509; nil: none
	Webhooks *webhook.Set              // nil: none
	Raw      json.RawMessage           // the ca.json entry, compacted
}

// Parse reads the shared parts of the provisioner info describes from its
// ca.json entry raw, whose common fields are b. Errors name the provisioner
// ("X5C provisioner \"name\": claims: ...").
func Parse(info provisioner.Info, b provisioner.Base, raw json.RawMessage, cfg provisioner.Config) (*Parts, error) {
	name := fmt.Sprintf("%s provisioner %q", info.Type, info.Name)
	claims := b.Claims.Merge(cfg.Claims)
	if err := claims.Validate(); err != nil {
		return nil, fmt.Errorf("%s: claims: %w", name, err)
	}
	tmpl, err := provisioner.ParseX509Template(b.Options, cfg.StepPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	hooks, err := webhook.Parse(b.Options, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	compact := new(bytes.Buffer)
	if err := json.Compact(compact, raw); err != nil {
		return nil, err
	}
	return &Parts{Claims: claims, X509: tmpl, Webhooks: hooks, Raw: compact.Bytes()}, nil
}

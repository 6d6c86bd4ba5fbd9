package templates

import (
	"encoding/json"
	"fmt"
	"strings"
)

// DefaultSSHCertTemplate is step-ca's default SSH certificate template: the
// type, key ID, principals, extensions and critical options of the data.
const DefaultSSHCertTemplate = `{
	"type": {{ toJson .Type }},
	"keyId": {{ toJson .KeyID }},
	"principals": {{ toJson .Principals }},
	"extensions": {{ toJson .Extensions }},
	"criticalOptions": {{ toJson .CriticalOptions }}
}`

// Keys of SSH certificate template data, as step-ca names them.
const (
	SSHTypeKey            = "Type"
	SSHKeyIDKey           = "KeyID"
	SSHPrincipalsKey      = "Principals"
	SSHExtensionsKey      = "Extensions"
	SSHCriticalOptionsKey = "CriticalOptions"
)

// SSHCert is a rendered SSH certificate template: the fields a template
// decides. Type is "user" or "host".
type SSHCert struct {
	Type            string
	KeyID           string
	Principals      []string
	Extensions      map[string]string
	CriticalOptions map[string]string
}

// SSHCertTemplate is a parsed SSH certificate template (a provisioner's
// options.ssh), rendered like X.509 ones (same functions, fail).
type SSHCertTemplate struct{ t *X509Template }

// ParseSSHCert parses an SSH certificate template; name appears in errors.
func ParseSSHCert(name, text string) (*SSHCertTemplate, error) {
	t, err := ParseX509(name, text)
	if err != nil {
		return nil, err
	}
	return &SSHCertTemplate{t: t}, nil
}

// Certificate renders the template with data and decodes the document:
// {"type", "keyId", "principals", "extensions", "criticalOptions"}; type
// is "user" or "host" (any case) or 1 or 2, as step's sshutil reads it.
func (t *SSHCertTemplate) Certificate(data map[string]any) (*SSHCert, error) {
	doc, err := t.t.Render(X509Data(data))
	if err != nil {
		return nil, err
	}
	var raw struct {
		Type            json.RawMessage   `json:"type"`
		KeyID           string            `json:"keyId"`
		Principals      []string          `json:"principals"`
		Extensions      map[string]string `json:"extensions"`
		CriticalOptions map[string]string `json:"criticalOptions"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, fmt.Errorf("error parsing rendered ssh template%s: %s", nameSuffix(t.t.name), oneLine(err.Error()))
	}
	c := &SSHCert{KeyID: raw.KeyID, Principals: raw.Principals, Extensions: raw.Extensions, CriticalOptions: raw.CriticalOptions}
	var s string
	var n int
	switch {
	case len(raw.Type) == 0 || string(raw.Type) == "null":
	case json.Unmarshal(raw.Type, &s) == nil:
		c.Type = strings.ToLower(s)
	case json.Unmarshal(raw.Type, &n) == nil && n == 1:
		c.Type = "user"
	case json.Unmarshal(raw.Type, &n) == nil && n == 2:
		c.Type = "host"
	default:
		return nil, fmt.Errorf("error parsing rendered ssh template%s: type %s is not user or host", nameSuffix(t.t.name), raw.Type)
	}
	if c.Type != "" && c.Type != "user" && c.Type != "host" {
		return nil, fmt.Errorf("error parsing rendered ssh template%s: type %q is not user or host", nameSuffix(t.t.name), c.Type)
	}
	return c, nil
}

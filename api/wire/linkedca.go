package wire

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The admin API's bodies (wire-spec §3 admin) are the protojson of
// smallstep's linkedca messages. Provisioner is linkedca.Provisioner;
// Mayfly converts it to and from the ca.json entry the authority builds
// provisioners from (ProvisionerToConfig, ProvisionerFromConfig).

// Provisioner is linkedca.Provisioner in protojson.
type Provisioner struct {
	ID           string                     `json:"id,omitempty"`
	AuthorityID  string                     `json:"authorityId,omitempty"`
	Type         string                     `json:"type"`
	Name         string                     `json:"name"`
	Details      map[string]json.RawMessage `json:"details,omitempty"`
	Claims       *LinkedClaims              `json:"claims,omitempty"`
	X509Template *LinkedTemplate            `json:"x509Template,omitempty"`
	SSHTemplate  *LinkedTemplate            `json:"sshTemplate,omitempty"`
	Webhooks     []*Webhook                 `json:"webhooks,omitempty"`
	Policy       *Policy                    `json:"policy,omitempty"`
	CreatedAt    *time.Time                 `json:"createdAt,omitempty"`
	DeletedAt    *time.Time                 `json:"deletedAt,omitempty"`
}

// LinkedClaims is linkedca.Claims.
type LinkedClaims struct {
	X509                    *LinkedX509Claims `json:"x509,omitempty"`
	SSH                     *LinkedSSHClaims  `json:"ssh,omitempty"`
	DisableRenewal          bool              `json:"disableRenewal,omitempty"`
	AllowRenewalAfterExpiry bool              `json:"allowRenewalAfterExpiry,omitempty"`
}

// LinkedX509Claims is linkedca.X509Claims.
type LinkedX509Claims struct {
	Enabled   bool             `json:"enabled,omitempty"`
	Durations *LinkedDurations `json:"durations,omitempty"`
}

// LinkedSSHClaims is linkedca.SSHClaims.
type LinkedSSHClaims struct {
	Enabled       bool             `json:"enabled,omitempty"`
	UserDurations *LinkedDurations `json:"userDurations,omitempty"`
	HostDurations *LinkedDurations `json:"hostDurations,omitempty"`
}

// LinkedDurations is linkedca.Durations (Go duration strings).
type LinkedDurations struct {
	Default string `json:"default,omitempty"`
	Min     string `json:"min,omitempty"`
	Max     string `json:"max,omitempty"`
}

// LinkedTemplate is linkedca.Template: the template and its data, bytes
// (standard base64 in protojson).
type LinkedTemplate struct {
	Template []byte `json:"template,omitempty"`
	Data     []byte `json:"data,omitempty"`
}

// AdminProvisionersResponse is the body of GET /admin/provisioners.
type AdminProvisionersResponse struct {
	Provisioners []*Provisioner `json:"provisioners"`
	NextCursor   string         `json:"nextCursor"`
}

// Admin is linkedca.Admin in protojson.
type Admin struct {
	ID            string     `json:"id,omitempty"`
	AuthorityID   string     `json:"authorityId,omitempty"`
	Subject       string     `json:"subject"`
	ProvisionerID string     `json:"provisionerId,omitempty"`
	Type          string     `json:"type"`
	CreatedAt     *time.Time `json:"createdAt,omitempty"`
	DeletedAt     *time.Time `json:"deletedAt,omitempty"`
}

// AdminsResponse is the body of GET /admin/admins.
type AdminsResponse struct {
	Admins     []*Admin `json:"admins"`
	NextCursor string   `json:"nextCursor"`
}

// CreateAdminRequest is the body of POST /admin/admins.
type CreateAdminRequest struct {
	Subject     string `json:"subject"`
	Provisioner string `json:"provisioner"`
	Type        string `json:"type"`
}

// UpdateAdminRequest is the body of PATCH /admin/admins/{id}.
type UpdateAdminRequest struct {
	Type string `json:"type"`
}

// DeleteResponse is the body of a successful DELETE.
type DeleteResponse struct {
	Status string `json:"status"`
}

// detailKeys are linkedca's ProvisionerDetails oneof field names, by type.
var detailKeys = map[string]string{
	"JWK": "JWK", "OIDC": "OIDC", "GCP": "GCP", "AWS": "AWS", "AZURE": "Azure", "ACME": "ACME",
	"X5C": "X5C", "K8SSA": "K8sSA", "SSHPOP": "SSHPOP", "SCEP": "SCEP", "NEBULA": "Nebula",
}

// caJSONTypes are the ca.json spellings of the types.
var caJSONTypes = map[string]string{
	"JWK": "JWK", "OIDC": "OIDC", "GCP": "GCP", "AWS": "AWS", "AZURE": "Azure", "ACME": "ACME",
	"X5C": "X5C", "K8SSA": "K8sSA", "SSHPOP": "SSHPOP", "SCEP": "SCEP", "NEBULA": "Nebula",
}

// fieldMap maps linkedca detail fields to ca.json keys, per type; kind
// says how the value converts: "" as is, "bytes" (base64 of bytes →
// string / JSON), "bundle" (a list of PEM bytes → one base64 bundle).
type fieldMap struct{ linked, caJSON, kind string }

var detailFields = map[string][]fieldMap{
	"JWK":    {{"publicKey", "key", "json"}, {"encryptedPrivateKey", "encryptedKey", "string"}},
	"X5C":    {{"roots", "roots", "bundle"}},
	"NEBULA": {{"roots", "roots", "bundle"}},
	"K8SSA":  {{"publicKeys", "publicKeys", "bundle"}},
	"SSHPOP": {},
	"ACME": {{"forceCn", "forceCN", ""}, {"requireEab", "requireEAB", ""}, {"challenges", "challenges", "challenges"},
		{"attestationFormats", "attestationFormats", "lower"}, {"attestationRoots", "attestationRoots", "bundle"}},
	"OIDC": {{"clientId", "clientID", ""}, {"clientSecret", "clientSecret", ""}, {"configurationEndpoint", "configurationEndpoint", ""},
		{"admins", "admins", ""}, {"domains", "domains", ""}, {"groups", "groups", ""}, {"listenAddress", "listenAddress", ""},
		{"tenantId", "tenantID", ""}, {"scopes", "scopes", ""}, {"authParams", "authParams", ""}},
}

// ProvisionerToConfig returns the ca.json entry of p. Types and fields it
// cannot convert are errors naming them.
func ProvisionerToConfig(p *Provisioner) (json.RawMessage, error) {
	typ := strings.ToUpper(p.Type)
	fields, ok := detailFields[typ]
	if !ok {
		return nil, fmt.Errorf("provisioner type %s is not supported by the admin API yet", p.Type)
	}
	if strings.TrimSpace(p.Name) == "" {
		return nil, fmt.Errorf("provisioner name cannot be empty")
	}
	out := map[string]any{"type": caJSONTypes[typ], "name": p.Name}
	var details map[string]json.RawMessage
	if raw, ok := p.Details[detailKeys[typ]]; ok {
		if err := json.Unmarshal(raw, &details); err != nil {
			return nil, fmt.Errorf("details.%s: %w", detailKeys[typ], err)
		}
	}
	for _, f := range fields {
		raw, ok := details[f.linked]
		if !ok || string(raw) == "null" {
			continue
		}
		v, err := linkedToCAJSON(f.kind, raw)
		if err != nil {
			return nil, fmt.Errorf("details.%s.%s: %w", detailKeys[typ], f.linked, err)
		}
		out[f.caJSON] = v
	}
	if c := claimsToCAJSON(p.Claims); len(c) > 0 {
		out["claims"] = c
	}
	opts := map[string]any{}
	for k, t := range map[string]*LinkedTemplate{"x509": p.X509Template, "ssh": p.SSHTemplate} {
		if t == nil || (len(t.Template) == 0 && len(t.Data) == 0) {
			continue
		}
		o := map[string]any{}
		if len(t.Template) > 0 {
			o["template"] = string(t.Template)
		}
		if len(t.Data) > 0 {
			if !json.Valid(t.Data) {
				return nil, fmt.Errorf("%sTemplate.data is not JSON", k)
			}
			o["templateData"] = json.RawMessage(t.Data)
		}
		opts[k] = o
	}
	if len(p.Webhooks) > 0 {
		list := make([]json.RawMessage, len(p.Webhooks))
		for i, w := range p.Webhooks {
			if w == nil {
				return nil, fmt.Errorf("webhooks[%d] is null", i)
			}
			list[i] = WebhookToConfig(w)
		}
		opts["webhooks"] = list
	}
	if len(opts) > 0 {
		out["options"] = opts
	}
	if p.Policy != nil {
		// A policy without rules is none (PolicyToConfig's only error).
		if raw, err := PolicyToConfig(p.Policy); err == nil {
			out["policy"] = raw
		}
	}
	return json.Marshal(out)
}

func linkedToCAJSON(kind string, raw json.RawMessage) (any, error) {
	switch kind {
	case "json", "string":
		var b []byte
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, err
		}
		if kind == "string" {
			return string(b), nil
		}
		if !json.Valid(b) {
			return nil, fmt.Errorf("not a JSON key")
		}
		return json.RawMessage(b), nil
	case "bundle":
		var list [][]byte
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
		var all []byte
		for _, b := range list {
			all = append(all, b...)
			if len(b) > 0 && b[len(b)-1] != '\n' {
				all = append(all, '\n')
			}
		}
		return base64.StdEncoding.EncodeToString(all), nil
	case "challenges", "lower":
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
		for i, s := range list {
			list[i] = strings.ReplaceAll(strings.ToLower(s), "_", "-")
		}
		return list, nil
	}
	var v any
	err := json.Unmarshal(raw, &v)
	return v, err
}

func claimsToCAJSON(c *LinkedClaims) map[string]any {
	out := map[string]any{}
	if c == nil {
		return out
	}
	set := func(key, v string) {
		if v != "" {
			out[key] = v
		}
	}
	if c.X509 != nil && c.X509.Durations != nil {
		d := c.X509.Durations
		set("minTLSCertDuration", d.Min)
		set("maxTLSCertDuration", d.Max)
		set("defaultTLSCertDuration", d.Default)
	}
	if c.SSH != nil {
		out["enableSSHCA"] = c.SSH.Enabled
		if d := c.SSH.UserDurations; d != nil {
			set("minUserSSHCertDuration", d.Min)
			set("maxUserSSHCertDuration", d.Max)
			set("defaultUserSSHCertDuration", d.Default)
		}
		if d := c.SSH.HostDurations; d != nil {
			set("minHostSSHCertDuration", d.Min)
			set("maxHostSSHCertDuration", d.Max)
			set("defaultHostSSHCertDuration", d.Default)
		}
	}
	if c.DisableRenewal {
		out["disableRenewal"] = true
	}
	if c.AllowRenewalAfterExpiry {
		out["allowRenewalAfterExpiry"] = true
	}
	return out
}

// ProvisionerFromConfig returns the linkedca form of a ca.json entry.
// Fields linkedca has no place for are left out.
func ProvisionerFromConfig(cfg json.RawMessage) (*Provisioner, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(cfg, &m); err != nil {
		return nil, err
	}
	var typ, name string
	_ = json.Unmarshal(m["type"], &typ)
	_ = json.Unmarshal(m["name"], &name)
	up := strings.ToUpper(typ)
	p := &Provisioner{Type: up, Name: name}
	details := map[string]any{}
	for _, f := range detailFields[up] {
		raw, ok := m[f.caJSON]
		if !ok {
			continue
		}
		switch f.kind {
		case "json":
			details[f.linked] = []byte(raw)
		case "string":
			var s string
			_ = json.Unmarshal(raw, &s)
			details[f.linked] = []byte(s)
		case "bundle":
			var s string
			_ = json.Unmarshal(raw, &s)
			b, _ := base64.StdEncoding.DecodeString(s)
			details[f.linked] = [][]byte{b}
		case "challenges", "lower":
			var list []string
			_ = json.Unmarshal(raw, &list)
			for i, s := range list {
				list[i] = strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
			}
			details[f.linked] = list
		default:
			details[f.linked] = raw
		}
	}
	if key, ok := detailKeys[up]; ok {
		b, err := json.Marshal(details)
		if err != nil {
			return nil, err
		}
		p.Details = map[string]json.RawMessage{key: b}
	}
	if raw, ok := m["claims"]; ok {
		var c struct {
			MinTLSCertDuration         string `json:"minTLSCertDuration"`
			MaxTLSCertDuration         string `json:"maxTLSCertDuration"`
			DefaultTLSCertDuration     string `json:"defaultTLSCertDuration"`
			MinUserSSHCertDuration     string `json:"minUserSSHCertDuration"`
			MaxUserSSHCertDuration     string `json:"maxUserSSHCertDuration"`
			DefaultUserSSHCertDuration string `json:"defaultUserSSHCertDuration"`
			MinHostSSHCertDuration     string `json:"minHostSSHCertDuration"`
			MaxHostSSHCertDuration     string `json:"maxHostSSHCertDuration"`
			DefaultHostSSHCertDuration string `json:"defaultHostSSHCertDuration"`
			EnableSSHCA                *bool  `json:"enableSSHCA"`
			DisableRenewal             bool   `json:"disableRenewal"`
			AllowRenewalAfterExpiry    bool   `json:"allowRenewalAfterExpiry"`
		}
		_ = json.Unmarshal(raw, &c)
		lc := &LinkedClaims{
			X509: &LinkedX509Claims{Enabled: true, Durations: &LinkedDurations{
				Min: c.MinTLSCertDuration, Max: c.MaxTLSCertDuration, Default: c.DefaultTLSCertDuration}},
			SSH: &LinkedSSHClaims{Enabled: c.EnableSSHCA == nil || *c.EnableSSHCA,
				UserDurations: &LinkedDurations{Min: c.MinUserSSHCertDuration, Max: c.MaxUserSSHCertDuration, Default: c.DefaultUserSSHCertDuration},
				HostDurations: &LinkedDurations{Min: c.MinHostSSHCertDuration, Max: c.MaxHostSSHCertDuration, Default: c.DefaultHostSSHCertDuration}},
			DisableRenewal: c.DisableRenewal, AllowRenewalAfterExpiry: c.AllowRenewalAfterExpiry,
		}
		p.Claims = lc
	}
	if raw, ok := m["options"]; ok {
		var hooks struct {
			Webhooks []json.RawMessage `json:"webhooks"`
		}
		_ = json.Unmarshal(raw, &hooks)
		for _, h := range hooks.Webhooks {
			if w, err := WebhookFromConfig(h); err == nil {
				p.Webhooks = append(p.Webhooks, w)
			}
		}
		var o map[string]json.RawMessage
		_ = json.Unmarshal(raw, &o)
		for k, vraw := range o {
			var v struct {
				Template     string          `json:"template"`
				TemplateData json.RawMessage `json:"templateData"`
			}
			if k != "x509" && k != "ssh" || json.Unmarshal(vraw, &v) != nil {
				continue
			}
			t := &LinkedTemplate{Template: []byte(v.Template), Data: []byte(v.TemplateData)}
			switch k {
			case "x509":
				p.X509Template = t
			case "ssh":
				p.SSHTemplate = t
			}
		}
	}
	if raw, ok := m["policy"]; ok && string(raw) != "null" {
		pol, err := PolicyFromConfig(raw)
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		p.Policy = pol
	}
	return p, nil
}

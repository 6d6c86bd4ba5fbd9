package wire

import (
	"encoding/json"
	"strings"
)

// Webhook is linkedca.Webhook in protojson (the admin API's
// /admin/provisioners/{prov}/webhooks and Provisioner.webhooks).
type Webhook struct {
	Name                 string             `json:"name"`
	ID                   string             `json:"id,omitempty"`
	URL                  string             `json:"url"`
	Kind                 string             `json:"kind"`
	Secret               string             `json:"secret,omitempty"`
	BearerToken          *LinkedBearerToken `json:"bearerToken,omitempty"`
	BasicAuth            *LinkedBasicAuth   `json:"basicAuth,omitempty"`
	DisableTLSClientAuth bool               `json:"disableTlsClientAuth,omitempty"`
	CertType             string             `json:"certType,omitempty"`
}

// LinkedBearerToken is linkedca.BearerToken.
type LinkedBearerToken struct {
	BearerToken string `json:"bearerToken"`
}

// LinkedBasicAuth is linkedca.BasicAuth.
type LinkedBasicAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// caJSONWebhook is one entry of a provisioner's options.webhooks.
type caJSONWebhook struct {
	ID                   string           `json:"id,omitempty"`
	Name                 string           `json:"name"`
	URL                  string           `json:"url"`
	Kind                 string           `json:"kind"`
	DisableTLSClientAuth bool             `json:"disableTLSClientAuth,omitempty"`
	CertType             string           `json:"certType,omitempty"`
	Secret               string           `json:"secret,omitempty"`
	BearerToken          string           `json:"bearerToken,omitempty"`
	BasicAuth            *LinkedBasicAuth `json:"basicAuth,omitempty"`
}

// WebhookToConfig returns w as an options.webhooks entry.
func WebhookToConfig(w *Webhook) json.RawMessage {
	c := caJSONWebhook{ID: w.ID, Name: w.Name, URL: w.URL, Kind: strings.ToUpper(w.Kind), DisableTLSClientAuth: w.DisableTLSClientAuth,
		CertType: strings.ToUpper(w.CertType), Secret: w.Secret, BasicAuth: w.BasicAuth}
	if w.BearerToken != nil {
		c.BearerToken = w.BearerToken.BearerToken
	}
	b, _ := json.Marshal(c)
	return b
}

// WebhookFromConfig returns the linkedca form of an options.webhooks entry.
func WebhookFromConfig(raw json.RawMessage) (*Webhook, error) {
	var c caJSONWebhook
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	w := &Webhook{ID: c.ID, Name: c.Name, URL: c.URL, Kind: c.Kind, Secret: c.Secret, BasicAuth: c.BasicAuth,
		DisableTLSClientAuth: c.DisableTLSClientAuth, CertType: c.CertType}
	if c.BearerToken != "" {
		w.BearerToken = &LinkedBearerToken{BearerToken: c.BearerToken}
	}
	return w, nil
}

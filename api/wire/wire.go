// Package wire holds the JSON request and response bodies of the CA API,
// shared by the server (api) and the client (ca/client). See wire-spec §3.
package wire

import (
	"encoding/json"

	"github.com/mayfly-pki/mayfly/internal/timeutil"
)

// SignRequest is the body of POST /sign.
type SignRequest struct {
	CSR          string                `json:"csr"`
	OTT          string                `json:"ott"`
	NotBefore    timeutil.TimeDuration `json:"notBefore"`
	NotAfter     timeutil.TimeDuration `json:"notAfter"`
	TemplateData json.RawMessage       `json:"templateData,omitempty"`
}

// SignResponse is the body answered by /sign, /renew and /rekey.
type SignResponse struct {
	Certificate string          `json:"crt"`
	CA          *string         `json:"ca"`
	CertChain   []string        `json:"certChain"`
	TLSOptions  json.RawMessage `json:"tlsOptions,omitempty"`
}

// RekeyRequest is the body of POST /rekey.
type RekeyRequest struct {
	CSR string `json:"csr"`
}

// RevokeRequest is the body of POST /revoke.
type RevokeRequest struct {
	Serial     string `json:"serial"`
	OTT        string `json:"ott"`
	ReasonCode int    `json:"reasonCode"`
	Reason     string `json:"reason"`
	Passive    bool   `json:"passive"`
}

// StatusResponse is {"status":"ok"} (health, revoke).
type StatusResponse struct {
	Status string `json:"status"`
}

// VersionResponse is the body of GET /version.
type VersionResponse struct {
	Version                     string `json:"version"`
	RequireClientAuthentication bool   `json:"requireClientAuthentication,omitempty"`
}

// RootResponse is the body of GET /root/{sha}.
type RootResponse struct {
	RootPEM string `json:"ca"`
}

// CertificatesResponse is the body of GET /roots, /intermediates, /federation.
type CertificatesResponse struct {
	Certificates []string `json:"crts"`
}

// ProvisionersResponse is the body of GET /provisioners.
type ProvisionersResponse struct {
	Provisioners []json.RawMessage `json:"provisioners"`
	NextCursor   string            `json:"nextCursor"`
}

// EncryptedKeyResponse is the body of GET /provisioners/{kid}/encrypted-key.
type EncryptedKeyResponse struct {
	Key string `json:"key"`
}

// Error is the body of every non-ACME error response.
type Error struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
}

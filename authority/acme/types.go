package acme

import (
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Statuses (RFC 8555 §7.1.6).
const (
	StatusPending     = "pending"
	StatusProcessing  = "processing"
	StatusValid       = "valid"
	StatusInvalid     = "invalid"
	StatusReady       = "ready"
	StatusExpired     = "expired"
	StatusDeactivated = "deactivated"
	StatusRevoked     = "revoked"
)

// Identifier is an order's or authorization's identifier.
type Identifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Account is the acme_accounts record (wire-spec §6.4).
type Account struct {
	ID              string           `json:"id"`
	Key             *jose.JSONWebKey `json:"key"`
	Contact         []string         `json:"contact,omitempty"`
	Status          string           `json:"status"`
	LocationPrefix  string           `json:"locationPrefix"`
	ProvisionerID   string           `json:"provisionerID"`
	ProvisionerName string           `json:"provisionerName"`
	CreatedAt       time.Time        `json:"createdAt"`
	DeactivatedAt   time.Time        `json:"deactivatedAt"`
	// ExternalAccountKeyID is the EAB key bound at creation (Mayfly's; step-ca
	// records the binding on the key instead).
	ExternalAccountKeyID string `json:"externalAccountKeyID,omitempty"`
}

// ProblemJSON is an error as stored on a challenge, authorization or order.
type ProblemJSON struct {
	Type        string       `json:"type"`
	Detail      string       `json:"detail"`
	Subproblems []Subproblem `json:"subproblems,omitempty"`
}

// Authz is the acme_authzs record.
type Authz struct {
	ID           string       `json:"id"`
	AccountID    string       `json:"accountID"`
	Identifier   Identifier   `json:"identifier"`
	Status       string       `json:"status"`
	Token        string       `json:"token"`
	Fingerprint  string       `json:"fingerprint,omitempty"`
	ChallengeIDs []string     `json:"challengeIDs"`
	Wildcard     bool         `json:"wildcard"`
	CreatedAt    time.Time    `json:"createdAt"`
	ExpiresAt    time.Time    `json:"expiresAt"`
	Error        *ProblemJSON `json:"error,omitempty"`
}

// Challenge is the acme_challenges record.
type Challenge struct {
	ID          string       `json:"id"`
	AccountID   string       `json:"accountID"`
	AuthzID     string       `json:"authzID"`
	Type        string       `json:"type"`
	Status      string       `json:"status"`
	Token       string       `json:"token"`
	Value       string       `json:"value"`
	Target      string       `json:"target,omitempty"`
	ValidatedAt string       `json:"validatedAt,omitempty"`
	CreatedAt   time.Time    `json:"createdAt"`
	Error       *ProblemJSON `json:"error,omitempty"`
}

// Order is the acme_orders record.
type Order struct {
	ID               string       `json:"id"`
	AccountID        string       `json:"accountID"`
	ProvisionerID    string       `json:"provisionerID"`
	Identifiers      []Identifier `json:"identifiers"`
	AuthorizationIDs []string     `json:"authorizationIDs"`
	Status           string       `json:"status"`
	NotBefore        time.Time    `json:"notBefore"`
	NotAfter         time.Time    `json:"notAfter"`
	CreatedAt        time.Time    `json:"createdAt"`
	ExpiresAt        time.Time    `json:"expiresAt"`
	CertificateID    string       `json:"certificate,omitempty"`
	Error            *ProblemJSON `json:"error,omitempty"`
}

// Certificate is the acme_certs record: leaf and intermediates as DER.
type Certificate struct {
	ID            string    `json:"id"`
	CreatedAt     time.Time `json:"createdAt"`
	AccountID     string    `json:"accountID"`
	OrderID       string    `json:"orderID"`
	Leaf          []byte    `json:"leaf"`
	Intermediates []byte    `json:"intermediates"`
}

// serialIndex is the acme_serial_certs_index record.
type serialIndex struct {
	Serial        string `json:"serial"`
	CertificateID string `json:"certificateID"`
}

// nonceRecord is the nonces record.
type nonceRecord struct {
	ID        string
	CreatedAt time.Time
	DeletedAt time.Time
}

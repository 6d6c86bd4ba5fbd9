// Package token mints one-time tokens (CLI side) and parses them (CA side),
// as wire-spec §4 describes.
package token

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Audience is the JWT aud claim: a single audience is written as a JSON string
// (as step's CLI does), several as an array; both are read.
type Audience []string

// MarshalJSON writes one audience as a string, several as an array.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON reads a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	// The usual audience, a string without escapes, needs no second decoder
	// (b is a JSON value the outer decoder has already checked).
	if len(b) >= 2 && b[0] == '"' && bytes.IndexByte(b[1:len(b)-1], '\\') < 0 {
		*a = Audience{string(b[1 : len(b)-1])}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = Audience{s}
		return nil
	}
	var v []string
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("aud must be a string or an array of strings")
	}
	*a = v
	return nil
}

// NumericDate is a JWT time in whole seconds since the epoch.
type NumericDate int64

// NewNumericDate converts t.
func NewNumericDate(t time.Time) *NumericDate {
	n := NumericDate(t.Unix())
	return &n
}

// Time returns the time, the zero time for nil.
func (n *NumericDate) Time() time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(int64(*n), 0)
}

// UnmarshalJSON accepts integers and (as some libraries write) fractional numbers.
func (n *NumericDate) UnmarshalJSON(b []byte) error {
	if string(b) == "null" { // as json.Unmarshal into a fresh float64
		*n = 0
		return nil
	}
	// b is a JSON value the outer decoder has checked: ParseFloat accepts
	// exactly its numbers, and rejects strings, objects, arrays and literals.
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("expected a number of seconds, got %s", b)
	}
	*n = NumericDate(int64(f))
	return nil
}

// SSHOptions is the "step.ssh" claim of SSH sign tokens (wire-spec §4.3).
type SSHOptions struct {
	CertType    string   `json:"certType"`
	KeyID       string   `json:"keyID"`
	Principals  []string `json:"principals"`
	ValidAfter  string   `json:"validAfter"`
	ValidBefore string   `json:"validBefore"`
}

// StepClaims is the "step" claim.
type StepClaims struct {
	SSH *SSHOptions     `json:"ssh,omitempty"`
	RA  json.RawMessage `json:"ra,omitempty"`
}

// Confirmation is the "cnf" claim.
type Confirmation struct {
	X5rtS256 string `json:"x5rt#S256,omitempty"`
	Kid      string `json:"kid,omitempty"`
}

// Claims is the payload of every step token. Field order follows what the
// CLI writes (encoding/json sorts nothing; the order here is the wire order).
type Claims struct {
	Audience  Audience       `json:"aud,omitempty"`
	Cnf       *Confirmation  `json:"cnf,omitempty"`
	Expiry    *NumericDate   `json:"exp,omitempty"`
	IssuedAt  *NumericDate   `json:"iat,omitempty"`
	Issuer    string         `json:"iss,omitempty"`
	ID        string         `json:"jti,omitempty"`
	NotBefore *NumericDate   `json:"nbf,omitempty"`
	SANs      []string       `json:"sans,omitempty"`
	SHA       string         `json:"sha,omitempty"`
	Step      *StepClaims    `json:"step,omitempty"`
	Subject   string         `json:"sub,omitempty"`
	User      map[string]any `json:"user,omitzero"` // nil: absent; empty: {} (as `step ca token` writes)
}

// Leeway is the clock skew tolerated on exp, nbf and iat (wire-spec §4.9).
const Leeway = time.Minute

// ValidateTime checks exp, nbf and iat against now with Leeway. exp is required.
func (c *Claims) ValidateTime(now time.Time) error {
	if c.Expiry == nil {
		return fmt.Errorf("token has no expiration (exp)")
	}
	if now.After(c.Expiry.Time().Add(Leeway)) {
		return fmt.Errorf("token is expired")
	}
	if c.NotBefore != nil && now.Add(Leeway).Before(c.NotBefore.Time()) {
		return fmt.Errorf("token is not valid yet (nbf)")
	}
	if c.IssuedAt != nil && now.Add(Leeway).Before(c.IssuedAt.Time()) {
		return fmt.Errorf("token issued in the future (iat)")
	}
	return nil
}

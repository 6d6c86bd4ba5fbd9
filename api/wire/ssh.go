package wire

import (
	"encoding/json"

	"github.com/mayfly-pki/mayfly/internal/timeutil"
)

// SSHSignRequest is the body of POST /ssh/sign (wire-spec §3.4). Byte
// slices are standard base64 of the SSH wire format.
type SSHSignRequest struct {
	PublicKey        []byte                `json:"publicKey"`
	OTT              string                `json:"ott"`
	CertType         string                `json:"certType,omitempty"`
	KeyID            string                `json:"keyID,omitempty"`
	Principals       []string              `json:"principals,omitempty"`
	ValidAfter       timeutil.TimeDuration `json:"validAfter"`
	ValidBefore      timeutil.TimeDuration `json:"validBefore"`
	AddUserPublicKey []byte                `json:"addUserPublicKey,omitempty"`
	IdentityCSR      *string               `json:"identityCSR"`
	TemplateData     json.RawMessage       `json:"templateData,omitempty"`
}

// SSHSignResponse is the body answered by /ssh/sign, /ssh/renew and
// /ssh/rekey: certificates as standard base64 of their wire format.
type SSHSignResponse struct {
	Certificate         string   `json:"crt"`
	AddUserCertificate  string   `json:"addUserCrt,omitempty"`
	IdentityCertificate []string `json:"identityCrt,omitempty"`
}

// SSHRenewRequest is the body of POST /ssh/renew.
type SSHRenewRequest struct {
	OTT string `json:"ott"`
}

// SSHRekeyRequest is the body of POST /ssh/rekey.
type SSHRekeyRequest struct {
	OTT       string `json:"ott"`
	PublicKey []byte `json:"publicKey"`
}

// SSHRevokeRequest is the body of POST /ssh/revoke.
type SSHRevokeRequest = RevokeRequest

// SSHRootsResponse is the body of GET /ssh/roots and /ssh/federation.
type SSHRootsResponse struct {
	UserKeys []string `json:"userKey,omitempty"`
	HostKeys []string `json:"hostKey,omitempty"`
}

// SSHCheckHostRequest is the body of POST /ssh/check-host.
type SSHCheckHostRequest struct {
	Type      string `json:"type"`
	Principal string `json:"principal"`
	Token     string `json:"token,omitempty"`
}

// SSHCheckHostResponse is its answer.
type SSHCheckHostResponse struct {
	Exists bool `json:"exists"`
}

// SSHHost is one host of GET /ssh/hosts.
type SSHHost struct {
	HostID   string   `json:"hid"`
	HostTags []string `json:"host_tags"`
	Hostname string   `json:"hostname"`
}

// SSHHostsResponse is the body of GET /ssh/hosts.
type SSHHostsResponse struct {
	Hosts []SSHHost `json:"hosts"`
}

// SSHBastionRequest is the body of POST /ssh/bastion.
type SSHBastionRequest struct {
	User     string `json:"user"`
	Hostname string `json:"hostname"`
}

// SSHBastion is ssh.bastion.
type SSHBastion struct {
	Hostname string `json:"hostname"`
	User     string `json:"user,omitempty"`
	Port     string `json:"port,omitempty"`
	Command  string `json:"cmd,omitempty"`
	Flags    string `json:"flags,omitempty"`
}

// SSHBastionResponse is its answer.
type SSHBastionResponse struct {
	Hostname string      `json:"hostname"`
	Bastion  *SSHBastion `json:"bastion,omitempty"`
}

// SSHConfigRequest is the body of POST /ssh/config.
type SSHConfigRequest struct {
	Type string            `json:"type"`
	Data map[string]string `json:"data"`
}

// SSHTemplate is one rendered template of /ssh/config; Content is the
// rendered text (standard base64 on the wire, as a []byte).
type SSHTemplate struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Path    string `json:"path"`
	Comment string `json:"comment"`
	Content []byte `json:"content"`
}

// SSHConfigResponse is the answer of POST /ssh/config.
type SSHConfigResponse struct {
	UserTemplates []SSHTemplate `json:"userTemplates,omitempty"`
	HostTemplates []SSHTemplate `json:"hostTemplates,omitempty"`
}

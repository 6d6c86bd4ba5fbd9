package client

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/google/uuid"

	"github.com/mayfly-pki/mayfly/api/wire"
)

// SSHSign calls POST /ssh/sign.
func (c *Client) SSHSign(ctx context.Context, req *wire.SSHSignRequest) (*wire.SSHSignResponse, error) {
	var r wire.SSHSignResponse
	return &r, c.do(ctx, c.http, http.MethodPost, "/ssh/sign", req, nil, &r)
}

// SSHRenew calls POST /ssh/renew with an SSHPOP token.
func (c *Client) SSHRenew(ctx context.Context, req *wire.SSHRenewRequest) (*wire.SSHSignResponse, error) {
	var r wire.SSHSignResponse
	return &r, c.do(ctx, c.http, http.MethodPost, "/ssh/renew", req, nil, &r)
}

// SSHRekey calls POST /ssh/rekey with an SSHPOP token.
func (c *Client) SSHRekey(ctx context.Context, req *wire.SSHRekeyRequest) (*wire.SSHSignResponse, error) {
	var r wire.SSHSignResponse
	return &r, c.do(ctx, c.http, http.MethodPost, "/ssh/rekey", req, nil, &r)
}

// SSHRevoke calls POST /ssh/revoke.
func (c *Client) SSHRevoke(ctx context.Context, req *wire.SSHRevokeRequest) error {
	return c.do(ctx, c.http, http.MethodPost, "/ssh/revoke", req, nil, nil)
}

// SSHRoots calls GET /ssh/roots.
func (c *Client) SSHRoots(ctx context.Context) (*wire.SSHRootsResponse, error) {
	var r wire.SSHRootsResponse
	return &r, c.do(ctx, c.http, http.MethodGet, "/ssh/roots", nil, nil, &r)
}

// SSHFederation calls GET /ssh/federation.
func (c *Client) SSHFederation(ctx context.Context) (*wire.SSHRootsResponse, error) {
	var r wire.SSHRootsResponse
	return &r, c.do(ctx, c.http, http.MethodGet, "/ssh/federation", nil, nil, &r)
}

// SSHCheckHost calls POST /ssh/check-host.
func (c *Client) SSHCheckHost(ctx context.Context, req *wire.SSHCheckHostRequest) (bool, error) {
	var r wire.SSHCheckHostResponse
	return r.Exists, c.do(ctx, c.http, http.MethodPost, "/ssh/check-host", req, nil, &r)
}

// SSHHosts calls GET /ssh/hosts.
func (c *Client) SSHHosts(ctx context.Context) (*wire.SSHHostsResponse, error) {
	var r wire.SSHHostsResponse
	return &r, c.do(ctx, c.http, http.MethodGet, "/ssh/hosts", nil, nil, &r)
}

// SSHBastion calls POST /ssh/bastion.
func (c *Client) SSHBastion(ctx context.Context, req *wire.SSHBastionRequest) (*wire.SSHBastionResponse, error) {
	var r wire.SSHBastionResponse
	return &r, c.do(ctx, c.http, http.MethodPost, "/ssh/bastion", req, nil, &r)
}

// SSHConfig calls POST /ssh/config.
func (c *Client) SSHConfig(ctx context.Context, req *wire.SSHConfigRequest) (*wire.SSHConfigResponse, error) {
	var r wire.SSHConfigResponse
	return &r, c.do(ctx, c.http, http.MethodPost, "/ssh/config", req, nil, &r)
}

// MaxKRLSize bounds the key revocation list SSHKRL reads.
const MaxKRLSize = 64 << 20

// KRL is an answer of GET /ssh/krl.
type KRL struct {
	Body         []byte // nil when NotModified
	ETag         string
	LastModified string
	NotModified  bool
}

// SSHKRL calls GET /ssh/krl; with etag set, an unchanged list answers
// NotModified without a body.
func (c *Client) SSHKRL(ctx context.Context, etag string) (*KRL, error) {
	u := *c.base
	u.Path = c.base.Path + "/ssh/krl"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("X-Request-Id", uuid.NewString())
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client GET %s failed: %w", u.String(), unwrapURLError(err))
	}
	defer resp.Body.Close()
	k := &KRL{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	if resp.StatusCode == http.StatusNotModified {
		k.NotModified = true
		return k, nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxKRLSize+1))
	if err != nil {
		return nil, fmt.Errorf("client GET %s: error reading response: %w", u.String(), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, apiError(resp.StatusCode, data, "GET", u.String(), resp.Status)
	}
	if len(data) > MaxKRLSize {
		return nil, fmt.Errorf("client GET %s: the key revocation list is larger than %d bytes", u.String(), MaxKRLSize)
	}
	k.Body = data
	return k, nil
}

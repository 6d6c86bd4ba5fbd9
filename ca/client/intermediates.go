package client

import (
	"context"
	"crypto/x509"
)

// Intermediates returns the CA's intermediate certificates, issuing
// certificate first (GET /intermediates).
func (c *Client) Intermediates(ctx context.Context) ([]*x509.Certificate, error) {
	return c.certificates(ctx, "/intermediates")
}

package client

import (
	"context"
	"net/http"
)

// Admin calls the admin API (wire-spec §3 admin): method on path (e.g.
// "/admin/admins?cursor=2") with token in the Authorization header, as
// step sends it (the raw JWT), body encoded as JSON when not nil, and a
// 2xx answer decoded into out. A refusal is an *APIError with the CA's
// message.
func (c *Client) Admin(ctx context.Context, method, path, token string, body, out any) error {
	h := http.Header{"Authorization": []string{token}}
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	return c.do(ctx, c.http, method, path, body, h, out)
}

package api_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/memory"
)

const default401 = "The request lacked necessary authorization to be completed. Please see the certificate authority logs for more info."

// adminToken mints an admin token of the env's JWK provisioner for aud.
func adminToken(t *testing.T, env *at.Env, aud string) string {
	t.Helper()
	return env.Admin.Sign(t, env.Admin.Claims(t, aud, "admin", env.Clock.Now()))
}

func listReq(t *testing.T, env *at.Env, query string) request {
	t.Helper()
	return request{method: http.MethodGet, path: "/admin/certificates" + query,
		header: map[string]string{"Authorization": "Bearer " + adminToken(t, env, at.CAURL+"/admin/certificates")}}
}

// inventoryServer issues a.example.com (1h), b.example.com (24h, revoked)
// and c.internal (2h) on a Badger store; it returns the serials in that order.
func inventoryServer(t *testing.T) (*server, []string) {
	t.Helper()
	s := newServer(t, at.Options{Store: at.OpenBadger(t)})
	var serials []string
	for _, c := range []struct {
		cn string
		d  time.Duration
	}{{"a.example.com", time.Hour}, {"b.example.com", 24 * time.Hour}, {"c.internal", 2 * time.Hour}} {
		cert, _ := s.env.Issue(t, c.cn, c.d)
		serials = append(serials, cert.SerialNumber.String())
	}
	if _, err := s.env.Authority.Revoke(context.Background(), &authority.RevokeRequest{
		Serial: serials[1], ReasonCode: 4, OTT: s.env.RevokeToken(t, serials[1]),
	}); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	return s, serials
}

func listedSerials(r wire.CertificateListResponse) []string {
	var out []string
	for _, c := range r.Certificates {
		out = append(out, c.Serial)
	}
	slices.SortFunc(out, store.CompareSerials)
	return out
}

func sorted(s ...string) []string {
	out := slices.Clone(s)
	slices.SortFunc(out, store.CompareSerials)
	return out
}

func TestListCertificatesAuth(t *testing.T) {
	t.Parallel()
	s, _ := inventoryServer(t)
	env := s.env
	replayed := listReq(t, env, "")
	other := at.NewJWK(t, "admin") // same name, another key
	tests := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"no header", nil, 401},
		{"not bearer", map[string]string{"Authorization": "Basic abc"}, 401},
		{"empty bearer", map[string]string{"Authorization": "Bearer "}, 401},
		{"garbage", map[string]string{"Authorization": "Bearer not.a.token"}, 401},
		{"sign audience", map[string]string{"Authorization": "Bearer " + adminToken(t, env, at.CAURL+"/1.0/sign")}, 401},
		{"1.0 admin audience", map[string]string{"Authorization": "Bearer " + adminToken(t, env, at.CAURL+"/1.0/admin/certificates")}, 401},
		{"other host", map[string]string{"Authorization": "Bearer " + adminToken(t, env, "https://evil.example.com/admin/certificates")}, 401},
		{"wrong key", map[string]string{"Authorization": "Bearer " + other.Sign(t, other.Claims(t, at.CAURL+"/admin/certificates", "admin", env.Clock.Now()))}, 401},
		{"valid", replayed.header, 200},
		{"replayed", replayed.header, 401},
		{"valid, other dnsName, no port", map[string]string{"Authorization": "Bearer " + adminToken(t, env, "https://127.0.0.1/admin/certificates")}, 200},
	}
	for _, tc := range tests { // sequential: "replayed" follows "valid"
		w := s.do(t, request{method: http.MethodGet, path: "/admin/certificates", header: tc.header})
		if tc.status == 401 {
			wantError(t, w, 401, default401)
			continue
		}
		var r wire.CertificateListResponse
		decode(t, w, tc.status, &r)
		if len(r.Certificates) != 3 {
			t.Fatalf("%s: %d certificates, want 3", tc.name, len(r.Certificates))
		}
	}
	// Not served under /1.0.
	if w := s.do(t, listReq(t, env, "")); w.Code != 200 {
		t.Fatalf("GET /admin/certificates: %d", w.Code)
	}
	r := listReq(t, env, "")
	r.path = "/1.0/admin/certificates"
	if w := s.do(t, r); w.Code != http.StatusNotFound {
		t.Fatalf("GET /1.0/admin/certificates: %d, want 404", w.Code)
	}
}

func TestListCertificatesFilters(t *testing.T) {
	t.Parallel()
	s, sn := inventoryServer(t)
	env := s.env
	now := env.Clock.Now()
	tests := []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"all", nil, sorted(sn...)},
		{"expiring before", url.Values{"expiring-before": {now.Add(90 * time.Minute).Format(time.RFC3339)}}, sorted(sn[0])},
		{"expiring after", url.Values{"expiring-after": {now.Add(90 * time.Minute).Format(time.RFC3339)}}, sorted(sn[1], sn[2])},
		{"subject", url.Values{"subject": {"EXAMPLE.com"}}, sorted(sn[0], sn[1])},
		{"provisioner", url.Values{"provisioner": {"admin"}}, sorted(sn...)},
		{"other provisioner", url.Values{"provisioner": {"nobody"}}, nil},
		{"revoked", url.Values{"revoked": {"true"}}, sorted(sn[1])},
		{"not revoked", url.Values{"revoked": {"false"}}, sorted(sn[0], sn[2])},
	}
	for _, tc := range tests {
		q := ""
		if tc.query != nil {
			q = "?" + tc.query.Encode()
		}
		var r wire.CertificateListResponse
		decode(t, s.do(t, listReq(t, env, q)), 200, &r)
		if got := listedSerials(r); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	// The revoked record's fields.
	var r wire.CertificateListResponse
	decode(t, s.do(t, listReq(t, env, "?revoked=true")), 200, &r)
	c := r.Certificates[0]
	if c.Subject != "b.example.com" || !slices.Equal(c.SANs, []string{"b.example.com"}) || c.Provisioner != "admin" ||
		!c.Revoked || c.ReasonCode == nil || *c.ReasonCode != 4 || c.RevokedAt == nil || !c.NotAfter.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("revoked record = %+v", c)
	}
	// Paging: limit=1 follows the cursor through every record, one token per page.
	var got []string
	cursor := ""
	for i := 0; ; i++ {
		if i > 5 {
			t.Fatalf("paging does not end")
		}
		q := url.Values{"limit": {"1"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page wire.CertificateListResponse
		decode(t, s.do(t, listReq(t, env, "?"+q.Encode())), 200, &page)
		if len(page.Certificates) > 1 {
			t.Fatalf("limit=1: %d records", len(page.Certificates))
		}
		for _, c := range page.Certificates {
			got = append(got, c.Serial)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if !slices.Equal(got, sorted(sn...)) {
		t.Fatalf("paged: %v, want %v", got, sorted(sn...))
	}
	// Bad queries are 400.
	for _, q := range []string{"?limit=0", "?limit=x", "?revoked=maybe", "?expiring-before=tomorrow"} {
		wantError(t, s.do(t, listReq(t, env, q)), 400, "")
	}
}

// noInventory is a real store without the optional inventory port.
type noInventory struct{ store.Store }

func TestListCertificatesNotImplemented(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{Store: noInventory{memory.New()}})
	w := s.do(t, listReq(t, s.env, ""))
	wantError(t, w, http.StatusNotImplemented, "listing certificates is not supported by the configured database")
	// Authentication comes first.
	wantError(t, s.do(t, request{method: http.MethodGet, path: "/admin/certificates"}), 401, default401)
}

func TestListCertificatesMemory(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{})
	cert, _ := s.env.Issue(t, "m.example.com", time.Hour)
	var r wire.CertificateListResponse
	decode(t, s.do(t, listReq(t, s.env, "")), 200, &r)
	if len(r.Certificates) != 1 || r.Certificates[0].Serial != cert.SerialNumber.String() || r.Certificates[0].Revoked || r.NextCursor != "" {
		t.Fatalf("memory listing = %+v", r)
	}
}

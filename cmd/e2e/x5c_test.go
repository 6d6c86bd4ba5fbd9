package e2e

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestX5C: an X5C provisioner added with `step ca provisioner add --type
// X5C --x5c-root` trusting the CA's own root; a certificate obtained with
// the JWK provisioner then authenticates `step ca certificate --x5c-cert
// --x5c-key` and `step ca token --x5c-cert --x5c-key` (wire-spec §4.4); the
// new certificate's NotAfter is capped at the authenticating one's, and a
// requested NotAfter past it is refused.
func TestX5C(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	rootFile := filepath.Join(p.caPath, "certs", "root_ca.crt")
	p.op.ok(t, "ca", "provisioner", "add", "x5cp", "--type", "X5C", "--x5c-root", rootFile)
	var cfg struct {
		Authority struct {
			Provisioners []map[string]any `json:"provisioners"`
		} `json:"authority"`
	}
	if err := json.Unmarshal(readFile(t, p.configPath()), &cfg); err != nil {
		t.Fatal(err)
	}
	var entry map[string]any
	for _, e := range cfg.Authority.Provisioners {
		if e["name"] == "x5cp" {
			entry = e
		}
	}
	rootPEM := readFile(t, rootFile)
	if entry == nil || entry["type"] != "X5C" || entry["roots"] != base64.StdEncoding.EncodeToString(rootPEM) {
		t.Fatalf("ca.json X5C entry = %v, want roots = base64 of %s", entry, rootFile)
	}
	p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")

	// The credential: a 2h certificate from the JWK provisioner.
	idCrt, idKey := u.path("id.crt"), u.path("id.key")
	u.ok(t, "ca", "certificate", "client.example.com", idCrt, idKey, "--provisioner", "admin", "--provisioner-password-file", pw, "--not-after", "2h")
	id := readCerts(t, idCrt)
	if len(id) != 2 {
		t.Fatalf("%s holds %d certificates, want the leaf and the intermediate", idCrt, len(id))
	}

	crt, key := u.path("svc.crt"), u.path("svc.key")
	r := u.ok(t, "ca", "certificate", "svc.example.com", crt, key, "--x5c-cert", idCrt, "--x5c-key", idKey)
	if !strings.Contains(r.stderr, "Provisioner: x5cp (X5C)") {
		t.Fatalf("provisioner selected:\n%s", r.stderr)
	}
	svc := readCerts(t, crt)[0]
	if !svc.NotAfter.Equal(id[0].NotAfter) {
		t.Fatalf("NotAfter %s, want the x5c certificate's %s (the default 24h capped)", svc.NotAfter, id[0].NotAfter)
	}
	if svc.Subject.CommonName != "svc.example.com" || strings.Join(svc.DNSNames, ",") != "svc.example.com" {
		t.Fatalf("subject %v, DNS names %v", svc.Subject, svc.DNSNames)
	}
	if ext := provisionerExtension(t, svc); ext.typ != 7 || ext.name != "x5cp" {
		t.Fatalf("provisioner extension %+v, want X5C (7) x5cp", ext)
	}

	// A token minted alone, as step mints it: kid is the key file as
	// given, the chain in x5c, the audience fragment #x5c/<name>.
	tok := strings.TrimSpace(u.ok(t, "ca", "token", "svc2.example.com", "--x5c-cert", idCrt, "--x5c-key", idKey).stdout)
	header, payload := tokenParts(t, tok)
	if header["kid"] != idKey || len(header["x5c"].([]any)) != 2 {
		t.Fatalf("token header %v", header)
	}
	if payload["iss"] != "x5cp" || payload["aud"] != p.url+"/1.0/sign#x5c/x5cp" || payload["sub"] != "svc2.example.com" {
		t.Fatalf("token payload %v", payload)
	}
	u.ok(t, "ca", "certificate", "svc2.example.com", u.path("svc2.crt"), u.path("svc2.key"), "--token", tok, "--not-after", "1h")
	svc2 := readCerts(t, u.path("svc2.crt"))[0]
	if d := svc2.NotAfter.Sub(svc2.NotBefore); d != time.Hour+time.Minute {
		t.Fatalf("requested 1h: valid for %s", d)
	}

	// Past the credential's expiry: refused, nothing written.
	r = u.fails(t, "ca", "certificate", "svc3.example.com", u.path("svc3.crt"), u.path("svc3.key"), "--x5c-cert", idCrt, "--x5c-key", idKey, "--not-after", "4h")
	if !strings.Contains(r.stderr, "is after the expiration of the provisioning credential") {
		t.Fatalf("notAfter past the credential:\n%s", r.stderr)
	}
	mustNotExist(t, u.path("svc3.crt"))

	// /provisioners lists it as ca.json has it.
	list := u.ok(t, "ca", "provisioner", "list").stdout
	if !strings.Contains(list, `"type": "X5C"`) || !strings.Contains(list, base64.StdEncoding.EncodeToString(rootPEM)) {
		t.Fatalf("provisioner list:\n%s", list)
	}

	// A key that is not the certificate's is refused before anything is sent.
	other := u.path("other.key")
	if err := os.WriteFile(other, readFile(t, key), 0o600); err != nil {
		t.Fatal(err)
	}
	r = u.fails(t, "ca", "token", "x.example.com", "--x5c-cert", idCrt, "--x5c-key", other)
	checkOneLine(t, r, "is not the key of the certificate in")
}

type provExt struct {
	typ  int
	name string
}

// provisionerExtension decodes step's provisioner extension of c
// (wire-spec §5.1): SEQUENCE {INTEGER type, OCTET STRING name, ...}.
func provisionerExtension(t *testing.T, c *x509.Certificate) provExt {
	t.Helper()
	for _, e := range c.Extensions {
		if !e.Id.Equal(stepProvisionerOID) {
			continue
		}
		var v struct {
			Type         int
			Name         []byte
			CredentialID []byte
			Rest         asn1.RawValue `asn1:"optional"`
		}
		if _, err := asn1.Unmarshal(e.Value, &v); err != nil {
			t.Fatalf("provisioner extension: %v", err)
		}
		return provExt{typ: v.Type, name: string(v.Name)}
	}
	t.Fatal("no provisioner extension")
	return provExt{}
}

// tokenParts decodes a compact token's header and payload.
func tokenParts(t *testing.T, tok string) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact token: %q", tok)
	}
	var out [2]map[string]any
	for i := range out {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out[0], out[1]
}

// Package azurekv is an Azure Key Vault emulator for tests: one HTTPS
// server on 127.0.0.1 that plays both Microsoft Entra ID (the OpenID
// configuration and client-credentials token endpoint of one tenant) and a
// vault's keys REST API for the calls the azurekms backend makes: the
// bearer challenge (401 with WWW-Authenticate), POST /keys/{name}/create,
// GET /keys/{name}/{version?} and POST /keys/{name}/{version}/sign, signing
// with real in-memory keys. Anything else answers 501.
package azurekv

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Tenant, ClientID and Secret are the only credentials the emulator accepts.
const (
	Tenant   = "00000000-0000-0000-0000-00000000a2e1"
	ClientID = "mayfly-test-client"
	Secret   = "mayfly-test-secret"
	token    = "emulator-access-token"
)

// Server is a running emulator.
type Server struct {
	URL    string // https://127.0.0.1:port
	CAFile string // PEM of the server's certificate, for ca-file=

	mu       sync.Mutex
	keys     map[string][]string // name -> versions, oldest first
	versions map[string]crypto.Signer
	n        int
}

// KMSURI returns the azurekms kms URI reaching s with its client credentials.
func (s *Server) KMSURI() string {
	return fmt.Sprintf("azurekms:client-id=%s;client-secret=%s;tenant-id=%s;vault-url=%s;authority-host=%s;ca-file=%s",
		ClientID, Secret, Tenant, s.URL, s.URL, s.CAFile)
}

// Start serves until t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{keys: map[string][]string{}, versions: map[string]crypto.Signer{}}
	ts := httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	s.CAFile = filepath.Join(t.TempDir(), "emulator-ca.pem")
	if err := os.WriteFile(s.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func kvError(w http.ResponseWriter, code int, c, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]string{"code": c, "message": msg}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/"+Tenant+"/v2.0/.well-known/openid-configuration":
		base := s.URL + "/" + Tenant
		writeJSON(w, 200, map[string]any{
			"token_endpoint": base + "/oauth2/v2.0/token", "authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"issuer": base + "/v2.0", "jwks_uri": base + "/discovery/v2.0/keys",
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"}, "scopes_supported": []string{"openid"},
		})
		return
	case p == "/"+Tenant+"/oauth2/v2.0/token":
		if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != ClientID || r.PostForm.Get("client_secret") != Secret {
			writeJSON(w, 401, map[string]any{"error": "invalid_client", "error_description": "bad client credentials"})
			return
		}
		writeJSON(w, 200, map[string]any{"token_type": "Bearer", "access_token": token, "expires_in": 3600, "ext_expires_in": 3600})
		return
	}
	if !strings.HasPrefix(p, "/keys/") {
		http.Error(w, "not emulated", http.StatusNotImplemented)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="%s/%s", resource="https://vault.azure.net"`, s.URL, Tenant))
		kvError(w, 401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")
		return
	}
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(p, "/keys/"), "/"), "/")
	switch {
	case len(parts) == 2 && parts[1] == "create" && r.Method == http.MethodPost:
		s.create(w, r, parts[0])
	case len(parts) <= 2 && r.Method == http.MethodGet:
		version := ""
		if len(parts) == 2 {
			version = parts[1]
		}
		s.get(w, parts[0], version)
	case len(parts) == 3 && parts[2] == "sign" && r.Method == http.MethodPost:
		s.sign(w, r, parts[0], parts[1])
	default:
		http.Error(w, "not emulated", http.StatusNotImplemented)
	}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, name string) {
	var req struct {
		Kty     string `json:"kty"`
		Crv     string `json:"crv"`
		KeySize int    `json:"key_size"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		kvError(w, 400, "BadParameter", err.Error())
		return
	}
	var k crypto.Signer
	var err error
	switch req.Kty {
	case "EC", "EC-HSM":
		c := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}[req.Crv]
		if c == nil {
			kvError(w, 400, "BadParameter", "unsupported curve "+req.Crv)
			return
		}
		k, err = ecdsa.GenerateKey(c, rand.Reader)
	case "RSA", "RSA-HSM":
		if req.KeySize == 0 {
			req.KeySize = 2048
		}
		k, err = rsa.GenerateKey(rand.Reader, req.KeySize)
	default:
		kvError(w, 400, "BadParameter", "unsupported kty "+req.Kty)
		return
	}
	if err != nil {
		kvError(w, 500, "InternalError", err.Error())
		return
	}
	s.mu.Lock()
	s.n++
	version := fmt.Sprintf("%032x", s.n)
	s.keys[name] = append(s.keys[name], version)
	s.versions[name+"/"+version] = k
	s.mu.Unlock()
	writeJSON(w, 200, s.bundle(name, version, k))
}

func (s *Server) lookup(name, version string) (crypto.Signer, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vs := s.keys[name]
	if version == "" && len(vs) > 0 {
		version = vs[len(vs)-1]
	}
	return s.versions[name+"/"+version], version
}

func (s *Server) get(w http.ResponseWriter, name, version string) {
	k, v := s.lookup(name, version)
	if k == nil {
		kvError(w, 404, "KeyNotFound", "A key with (name/id) "+name+" was not found in this key vault.")
		return
	}
	writeJSON(w, 200, s.bundle(name, v, k))
}

func (s *Server) bundle(name, version string, k crypto.Signer) map[string]any {
	jwk := map[string]any{"kid": s.URL + "/keys/" + name + "/" + version, "key_ops": []string{"sign", "verify"}}
	switch pub := k.Public().(type) {
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		jwk["kty"], jwk["crv"] = "EC", pub.Curve.Params().Name
		jwk["x"], jwk["y"] = b64(pub.X.FillBytes(make([]byte, size))), b64(pub.Y.FillBytes(make([]byte, size)))
	case *rsa.PublicKey:
		jwk["kty"], jwk["n"], jwk["e"] = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	}
	return map[string]any{"key": jwk, "attributes": map[string]any{"enabled": true}}
}

func (s *Server) sign(w http.ResponseWriter, r *http.Request, name, version string) {
	var req struct {
		Alg   string `json:"alg"`
		Value string `json:"value"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		kvError(w, 400, "BadParameter", err.Error())
		return
	}
	digest, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(req.Value, "="))
	if err != nil {
		kvError(w, 400, "BadParameter", "value is not base64url")
		return
	}
	k, v := s.lookup(name, version)
	if k == nil {
		kvError(w, 404, "KeyNotFound", "key not found")
		return
	}
	h := map[string]crypto.Hash{"ES256": crypto.SHA256, "ES384": crypto.SHA384, "ES512": crypto.SHA512,
		"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512,
		"PS256": crypto.SHA256, "PS384": crypto.SHA384, "PS512": crypto.SHA512}[req.Alg]
	if h == 0 || len(digest) != h.Size() {
		kvError(w, 400, "BadParameter", "bad alg or digest length")
		return
	}
	var sig []byte
	switch key := k.(type) {
	case *ecdsa.PrivateKey:
		rr, ss, err := ecdsa.Sign(rand.Reader, key, digest)
		if err != nil {
			kvError(w, 500, "InternalError", err.Error())
			return
		}
		size := (key.Curve.Params().BitSize + 7) / 8
		sig = append(rr.FillBytes(make([]byte, size)), ss.FillBytes(make([]byte, size))...)
	case *rsa.PrivateKey:
		if strings.HasPrefix(req.Alg, "PS") {
			// Key Vault's PS* are RSASSA-PSS with a salt as long as the hash.
			sig, err = rsa.SignPSS(rand.Reader, key, h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, key, h, digest)
		}
		if err != nil {
			kvError(w, 500, "InternalError", err.Error())
			return
		}
	}
	writeJSON(w, 200, map[string]any{"kid": s.URL + "/keys/" + name + "/" + v, "value": b64(sig)})
}

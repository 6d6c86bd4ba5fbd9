package k8ssa_test

import (
	"context"
	"testing"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/k8ssa"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// FuzzAuthorizeSign feeds arbitrary tokens (network input) to a K8sSA
// provisioner: it never panics, and refuses as Unauthorized whatever the
// trusted key did not sign.
func FuzzAuthorizeSign(f *testing.F) {
	s := newEC(f)
	p, err := k8ssa.New(entry(f, "k8s", s.pem(f), nil), provisioner.Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s.mint(f, legacy()))
	f.Add(newEC(f).mint(f, legacy()))
	f.Add(s.mint(f, map[string]any{"iss": k8ssa.Issuer, "sub": 1, "exp": "soon"}))
	f.Add("e30.e30.")
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := token.Parse(raw)
		if err != nil {
			return
		}
		plan, err := p.AuthorizeSign(context.Background(), tok)
		if err != nil {
			if !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("refused as %v: %v", errs.KindOf(err), err)
			}
			return
		}
		if tok.Verify(s.key.Public()) != nil || plan.Template == nil {
			t.Fatalf("accepted a token the key did not sign: %q", raw)
		}
	})
}

// FuzzParsePublicKeys: any publicKeys value parses or fails, never panics.
func FuzzParsePublicKeys(f *testing.F) {
	f.Add(newEC(f).pem(f))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := k8ssa.ParsePublicKeys(b)
		if err == nil && len(keys) == 0 {
			t.Fatal("no keys and no error")
		}
	})
}

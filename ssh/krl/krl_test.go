package krl

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

func TestRoundTrip(t *testing.T) {
	k := &KRL{Version: 7, Generated: time.Unix(1700000000, 0), Comment: "c", Certs: []CertSection{
		{CAKey: []byte("ca-key"), Serials: []uint64{9, 1, 2, 3, 4, 7, 7, ^uint64(0)}, KeyIDs: []string{"alice"}},
		{Serials: []uint64{5}},
	}}
	got, err := Parse(k.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 7 || !got.Generated.Equal(k.Generated) || got.Comment != "c" || len(got.Certs) != 2 {
		t.Fatalf("Parse = %+v", got)
	}
	s := got.Certs[0].Serials
	slices.Sort(s)
	if want := []uint64{1, 2, 3, 4, 7, 9, ^uint64(0)}; !slices.Equal(s, want) {
		t.Fatalf("serials = %v, want %v (sorted, deduplicated, the run 1-4 as a range)", s, want)
	}
	if string(got.Certs[0].CAKey) != "ca-key" || !slices.Equal(got.Certs[0].KeyIDs, []string{"alice"}) || len(got.Certs[1].CAKey) != 0 {
		t.Fatalf("sections = %+v", got.Certs)
	}
}

func TestParseRefusesGarbage(t *testing.T) {
	good := (&KRL{Certs: []CertSection{{Serials: []uint64{1}}}}).Marshal()
	const headerLen = 44 // magic, version, krl_version, date, flags, empty reserved and comment
	if _, err := Parse(good[:headerLen]); err != nil {
		t.Fatalf("a header alone is an empty KRL: %v", err)
	}
	// A small range parses; the same with 2^64 serials does not.
	small := append(append([]byte{}, good[:headerLen]...), sectionCertificates, 0, 0, 0, 29, 0, 0, 0, 0, 0, 0, 0, 0,
		certSerialRange, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3)
	if k, err := Parse(small); err != nil || len(k.Certs) != 1 || len(k.Certs[0].Serials) != 3 {
		t.Fatalf("range 1-3: %+v, %v", k, err)
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"bad magic": append([]byte("XXXXXXXX"), good[8:]...),
		"truncated": good[:len(good)-3],
		"huge range": append(append([]byte{}, good[:headerLen]...), sectionCertificates, 0, 0, 0, 29, 0, 0, 0, 0, 0, 0, 0, 0,
			certSerialRange, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
		"section 99": append(append([]byte{}, good[:headerLen]...), 99, 0, 0, 0, 0),
	} {
		if _, err := Parse(b); err == nil {
			t.Errorf("%s: Parse accepted it", name)
		}
	}
}

// TestSSHKeygenReadsIt checks the encoding with OpenSSH itself:
// `ssh-keygen -Q -f krl cert` reports a revoked serial as REVOKED and
// another as ok, and the KRL is refused for a certificate of another CA
// key only when listed under that key.
func TestSSHKeygenReadsIt(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed: run `make deps`")
	}
	dir := t.TempDir()
	ca := newSigner(t)
	other := newSigner(t)
	cert := func(name string, serial uint64, signer gossh.Signer) string {
		k := newSigner(t)
		c := &gossh.Certificate{Key: k.PublicKey(), Serial: serial, CertType: gossh.UserCert, KeyId: name,
			ValidPrincipals: []string{"u"}, ValidBefore: gossh.CertTimeInfinity}
		if err := c.SignCert(rand.Reader, signer); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+"-cert.pub")
		if err := os.WriteFile(p, gossh.MarshalAuthorizedKey(c), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	serials := []uint64{100, 101, 102, 103, 500, 1 << 63}
	k := &KRL{Version: 1, Generated: time.Now(), Certs: []CertSection{{CAKey: ca.PublicKey().Marshal(), Serials: serials}}}
	path := filepath.Join(dir, "krl")
	if err := os.WriteFile(path, k.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		serial  uint64
		signer  gossh.Signer
		revoked bool
	}{
		{"in-range", 102, ca, true},
		{"listed", 500, ca, true},
		{"high", 1 << 63, ca, true},
		{"not-listed", 104, ca, false},
		{"other-ca", 500, other, false},
	} {
		out, err := exec.Command("ssh-keygen", "-Q", "-f", path, cert(tc.name, tc.serial, tc.signer)).CombinedOutput()
		revoked := strings.Contains(string(out), "REVOKED")
		if revoked != tc.revoked || (err == nil) == tc.revoked {
			t.Errorf("%s: ssh-keygen -Q: %v\n%s", tc.name, err, out)
		}
	}
}

func newSigner(t testing.TB) gossh.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// BenchmarkMarshal100k encodes a KRL of 100,000 random serials under two
// CA keys, what the CA builds after a revocation with that many revoked
// certificates.
func BenchmarkMarshal100k(b *testing.B) {
	serials := make([]uint64, 100_000)
	for i := range serials {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
		serials[i] = n.Uint64()
	}
	k := &KRL{Certs: []CertSection{{CAKey: make([]byte, 104), Serials: serials}, {CAKey: make([]byte, 104), Serials: serials}}}
	b.ReportAllocs()
	for b.Loop() {
		_ = k.Marshal()
	}
}

func FuzzParse(f *testing.F) {
	f.Add((&KRL{Comment: "x", Certs: []CertSection{{CAKey: []byte("k"), Serials: []uint64{1, 2, 3, 9}, KeyIDs: []string{"a"}}}}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := Parse(b)
		if err != nil {
			return
		}
		// What parses re-encodes to a list with the same serials.
		again, err := Parse(k.Marshal())
		if err != nil {
			t.Fatalf("re-encoded KRL does not parse: %v", err)
		}
		if len(again.Certs) != len(k.Certs) {
			t.Fatalf("sections %d, want %d", len(again.Certs), len(k.Certs))
		}
		for i := range k.Certs {
			a, b := slices.Clone(k.Certs[i].Serials), again.Certs[i].Serials
			slices.Sort(a)
			a = slices.Compact(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Fatalf("section %d serials differ", i)
			}
		}
	})
}

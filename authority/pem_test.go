package authority

import (
	"crypto/rand"
	"encoding/pem"
	"testing"
)

// TestEncodePEMMatchesStdlib: the hand-sized encoder writes exactly what
// pem.EncodeToMemory writes, for lengths around the 48-byte line boundary.
func TestEncodePEMMatchesStdlib(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 47, 48, 49, 95, 96, 97, 500, 1023} {
		der := make([]byte, n)
		_, _ = rand.Read(der)
		want := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
		if got := EncodePEM(der); got != want {
			t.Fatalf("len %d:\ngot  %q\nwant %q", n, got, want)
		}
	}
}

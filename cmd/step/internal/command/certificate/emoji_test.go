package certificate

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

// Vectors published with Smallstep's implementation (go.step.sm/crypto,
// fingerprint and internal/emoji tests): the digest bytes and the emoji step
// prints for them.
func TestEmojiEncodeKnownVectors(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want string
	}{
		{"sha256 digest", "38011621ecdcc2172e933a1ef2317efc535a161c00333aee3f84abfab4e640bf",
			"💨🎱🌼📆🎠🎉🎿🚙🍪🌊♦️💡✌️🐮🔒❌🖕😬🌼👦👍👑♦️🇬🇧👂🔬📌♿🚀🚜🍆🐑"},
		{"first, middle and last bytes", "001050aaff", "👍🛁🇫🇷👛💤"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			if err != nil {
				t.Fatal(err)
			}
			if got := emojiEncode(b); got != tt.want {
				t.Fatalf("emojiEncode(%s) = %q, want %q", tt.hex, got, tt.want)
			}
		})
	}
}

func TestEmojiTableDistinct(t *testing.T) {
	seen := make(map[string]int, len(emojiTable))
	for i, e := range emojiTable {
		if e == "" {
			t.Fatalf("byte %#02x has no emoji", i)
		}
		if j, ok := seen[e]; ok {
			t.Fatalf("bytes %#02x and %#02x share the emoji %q", j, i, e)
		}
		seen[e] = i
	}
}

// decodeEmoji maps an emoji fingerprint back to bytes, longest match first (no
// table entry starts with a joiner or selector, so the split is unambiguous).
func decodeEmoji(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for len(s) > 0 {
		best := -1
		for i, e := range emojiTable {
			if strings.HasPrefix(s, e) && (best < 0 || len(e) > len(emojiTable[best])) {
				best = i
			}
		}
		if best < 0 {
			t.Fatalf("no emoji of the table starts %q", s)
		}
		out = append(out, byte(best))
		s = s[len(emojiTable[best]):]
	}
	return out
}

func TestFingerprintFormatEmoji(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	certs, err := pemutil.ReadCertificates("testdata/bundle.crt")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(certs[0].Raw)
	for _, format := range []string{"emoji", "emojisum", "EMOJI"} {
		r := run(t, "certificate", "fingerprint", "testdata/bundle.crt", "--format", format)
		if r.Code != 0 || !strings.HasSuffix(r.Stdout, "\n") {
			t.Fatalf("--format %s: exit %d %q %q", format, r.Code, r.Stdout, r.Stderr)
		}
		got := decodeEmoji(t, strings.TrimSuffix(r.Stdout, "\n"))
		if len(got) != sha256.Size {
			t.Fatalf("--format %s: %d emoji, want %d", format, len(got), sha256.Size)
		}
		if hex.EncodeToString(got) != hex.EncodeToString(sum[:]) {
			t.Fatalf("--format %s: emoji decode to %x, want %x", format, got, sum)
		}
	}
}

package api

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sirupsen/logrus"
)

func TestClip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"short", "abc", 8, "abc"},
		{"at the bound", "abcdefgh", 8, "abcdefgh"},
		{"over", "abcdefghi", 8, "abcdefgh...[truncated, 9 bytes]"},
		{"empty", "", 8, ""},
		// "é" is two bytes: the cut never splits a character.
		{"rune boundary", "abcdefgé", 8, "abcdefg...[truncated, 9 bytes]"},
		{"long", strings.Repeat("x", 250374), 4, "xxxx...[truncated, 250374 bytes]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := clip(tc.in, tc.max)
			if got != tc.want {
				t.Fatalf("clip(%.20q, %d) = %.80q, want %q", tc.in, tc.max, got, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("clip(%.20q, %d) = %q is not valid UTF-8", tc.in, tc.max, got)
			}
		})
	}
}

// TestBoundLogFields: every string the access log carries, alone or in a
// list, is cut to maxLogValue; lists keep at most maxLogList entries.
func TestBoundLogFields(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("v", 10000)
	sans := make([]string, 100)
	for i := range sans {
		sans[i] = long
	}
	f := logrus.Fields{"short": "ok", "long": long, "sans": sans, "status": 400, "few": []string{"a", "b"}}
	boundLogFields(f)
	if f["short"] != "ok" || f["status"] != 400 {
		t.Fatalf("short values changed: %v", f)
	}
	want := clip(long, maxLogValue)
	if f["long"] != want || len(want) > maxLogValue+40 {
		t.Fatalf("long = %.80q (%d bytes)", f["long"], len(f["long"].(string)))
	}
	got := f["sans"].([]string)
	if len(got) != maxLogList+1 || got[0] != want || got[maxLogList] != "...[68 more]" {
		t.Fatalf("sans: %d entries, first %.40q, last %q", len(got), got[0], got[len(got)-1])
	}
	if few := f["few"].([]string); len(few) != 2 || few[0] != "a" {
		t.Fatalf("few = %q", few)
	}
}

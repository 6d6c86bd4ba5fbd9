package timeutil

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzTimeDuration: Parse and UnmarshalJSON never panic and agree, and
// whatever parses survives a MarshalJSON/UnmarshalJSON round trip as the same
// instant relative to any base.
func FuzzTimeDuration(f *testing.F) {
	for _, s := range []string{
		"", "0s", "1h", "-5m", "1h0m0s", "1.5h", "9223372036854775807ns", "2562047h47m16.854775807s",
		"2031-03-05T00:00:00Z", "2031-03-05T02:00:00+02:00", "2031-03-05T00:00:00.999999999Z",
		"9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00+23:59", "tomorrow", "1d", "\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		td, err := Parse(s)
		quoted, merr := json.Marshal(s)
		if merr != nil {
			t.Fatal(merr)
		}
		var viaJSON TimeDuration
		jerr := json.Unmarshal(quoted, &viaJSON)
		if (err == nil) != (jerr == nil) {
			t.Fatalf("Parse error %v but UnmarshalJSON error %v", err, jerr)
		}
		if err != nil {
			return
		}
		_ = td.String()
		out, err := json.Marshal(td)
		if err != nil {
			t.Fatalf("Marshal of Parse(%q): %v", s, err)
		}
		var back TimeDuration
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("Unmarshal(%s) of Marshal(Parse(%q)): %v", out, s, err)
		}
		for _, b := range []time.Time{base, {}, time.Unix(0, 0)} {
			if got, want := back.RelativeTo(b), td.RelativeTo(b); !got.Equal(want) {
				t.Fatalf("round trip of %q relative to %v: %v != %v", s, b, got, want)
			}
		}
		if back.IsZero() != td.IsZero() {
			t.Fatalf("round trip of %q changed IsZero", s)
		}
	})
}

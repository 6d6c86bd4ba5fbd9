package timeutil

import (
	"encoding/json"
	"testing"
	"time"
)

var base = time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   time.Time // RelativeTo(base)
		zero   bool
		str    string
		errors bool
	}{
		{in: "", zero: true, str: ""},
		{in: "1h", want: base.Add(time.Hour), str: "1h0m0s"},
		{in: "1h0m0s", want: base.Add(time.Hour), str: "1h0m0s"},
		{in: "-5m", want: base.Add(-5 * time.Minute), str: "-5m0s"},
		{in: "90s", want: base.Add(90 * time.Second), str: "1m30s"},
		{in: "0s", zero: true, str: ""},
		{in: "2031-03-05T00:00:00Z", want: time.Date(2031, 3, 5, 0, 0, 0, 0, time.UTC), str: "2031-03-05T00:00:00Z"},
		{in: "2031-03-05T02:00:00+02:00", want: time.Date(2031, 3, 5, 0, 0, 0, 0, time.UTC), str: "2031-03-05T02:00:00+02:00"},
		{in: "2031-03-05T00:00:00.5Z", want: time.Date(2031, 3, 5, 0, 0, 0, 5e8, time.UTC), str: "2031-03-05T00:00:00.5Z"},
		{in: "tomorrow", errors: true},
		{in: "1d", errors: true},
		{in: "2031-03-05", errors: true},
		{in: "2031-03-05 00:00:00Z", errors: true},
		{in: "1h ", errors: true},
	}
	for _, tc := range tests {
		td, err := Parse(tc.in)
		if tc.errors {
			if err == nil {
				t.Fatalf("Parse(%q) succeeded: %v", tc.in, td)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		if td.IsZero() != tc.zero {
			t.Fatalf("Parse(%q).IsZero() = %v", tc.in, td.IsZero())
		}
		got := td.RelativeTo(base)
		if tc.zero {
			if !got.IsZero() {
				t.Fatalf("Parse(%q).RelativeTo = %v, want zero", tc.in, got)
			}
		} else if !got.Equal(tc.want) {
			t.Fatalf("Parse(%q).RelativeTo = %v, want %v", tc.in, got, tc.want)
		}
		if td.String() != tc.str {
			t.Fatalf("Parse(%q).String() = %q, want %q", tc.in, td.String(), tc.str)
		}
	}
}

func TestConstructors(t *testing.T) {
	t.Parallel()
	at := base.Add(time.Hour)
	if got := NewTimeDuration(at).RelativeTo(time.Time{}); !got.Equal(at) {
		t.Fatalf("absolute RelativeTo = %v", got)
	}
	if got := NewDuration(time.Minute).RelativeTo(base); !got.Equal(base.Add(time.Minute)) {
		t.Fatalf("relative RelativeTo = %v", got)
	}
	if !(TimeDuration{}).IsZero() || NewDuration(1).IsZero() || NewTimeDuration(base).IsZero() {
		t.Fatal("IsZero")
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	type body struct {
		NotBefore TimeDuration `json:"notBefore"`
		NotAfter  TimeDuration `json:"notAfter"`
	}
	var b body
	if err := json.Unmarshal([]byte(`{"notBefore":"","notAfter":"1h0m0s"}`), &b); err != nil {
		t.Fatal(err)
	}
	if !b.NotBefore.IsZero() || !b.NotAfter.RelativeTo(base).Equal(base.Add(time.Hour)) {
		t.Fatalf("decoded %+v", b)
	}
	out, err := json.Marshal(b)
	if err != nil || string(out) != `{"notBefore":"","notAfter":"1h0m0s"}` {
		t.Fatalf("Marshal = %s, %v", out, err)
	}
	b.NotBefore = NewDuration(time.Hour)
	if err := json.Unmarshal([]byte(`{"notBefore":null}`), &b); err != nil || !b.NotBefore.IsZero() {
		t.Fatalf("null: %+v, %v", b.NotBefore, err)
	}
	for _, in := range []string{`{"notAfter":3600}`, `{"notAfter":"soon"}`, `{"notAfter":true}`, `{"notAfter":["1h"]}`} {
		if err := json.Unmarshal([]byte(in), &b); err == nil {
			t.Fatalf("Unmarshal(%s) succeeded", in)
		}
	}
}

// TestJSONRoundTrip: what MarshalJSON writes, UnmarshalJSON reads back as the
// same instant, including offsets that move the UTC year out of four digits.
func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"2031-03-05T00:00:00Z",
		"2031-03-05T00:00:00.123456789+05:30",
		"9999-12-31T23:59:59-01:00",
		"0000-01-01T00:30:00+01:00",
		"-1h2m3.5s",
	} {
		td, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		b, err := json.Marshal(td)
		if err != nil {
			t.Fatalf("Marshal(%q): %v", in, err)
		}
		var back TimeDuration
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s) of Marshal(%q): %v", b, in, err)
		}
		if !back.RelativeTo(base).Equal(td.RelativeTo(base)) {
			t.Fatalf("round trip of %q: %v != %v", in, back.RelativeTo(base), td.RelativeTo(base))
		}
	}
}

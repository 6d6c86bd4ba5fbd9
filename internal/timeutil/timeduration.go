// Package timeutil holds step's wire time types.
package timeutil

import (
	"encoding/json"
	"fmt"
	"time"
)

// TimeDuration is step's notBefore/notAfter wire value (wire-spec §3.2): empty
// means unset, an RFC 3339 timestamp is absolute, and a Go duration string is
// relative to a base time chosen by the caller.
type TimeDuration struct {
	t time.Time
	d time.Duration
}

// NewTimeDuration returns an absolute TimeDuration.
func NewTimeDuration(t time.Time) TimeDuration { return TimeDuration{t: t} }

// NewDuration returns a relative TimeDuration.
func NewDuration(d time.Duration) TimeDuration { return TimeDuration{d: d} }

// Parse reads "", an RFC 3339 time or a Go duration.
func Parse(s string) (TimeDuration, error) {
	if s == "" {
		return TimeDuration{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return TimeDuration{t: t}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return TimeDuration{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return TimeDuration{d: d}, nil
}

// IsZero reports whether the value is unset.
func (td TimeDuration) IsZero() bool { return td.t.IsZero() && td.d == 0 }

// RelativeTo returns the absolute time, using base for a relative value. An
// unset value returns the zero time.
func (td TimeDuration) RelativeTo(base time.Time) time.Time {
	switch {
	case !td.t.IsZero():
		return td.t
	case td.d != 0:
		return base.Add(td.d)
	}
	return time.Time{}
}

// String returns the wire form: "", RFC 3339 or a Go duration. A time keeps
// its offset and fractional seconds (as step's time.Time.MarshalJSON writes
// it), so that Parse reads back the same instant: converting to UTC could
// push the year out of RFC 3339's four digits.
func (td TimeDuration) String() string {
	switch {
	case !td.t.IsZero():
		return td.t.Format(time.RFC3339Nano)
	case td.d != 0:
		return td.d.String()
	}
	return ""
}

// MarshalJSON writes the wire form as a JSON string.
func (td TimeDuration) MarshalJSON() ([]byte, error) { return json.Marshal(td.String()) }

// UnmarshalJSON reads null or a JSON string in the wire form.
func (td *TimeDuration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*td = TimeDuration{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time value must be a string: %w", err)
	}
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*td = v
	return nil
}

package templates

import (
	"encoding/json"
	"errors"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
)

// FuncMap returns the functions of certificate templates, as step gives them:
// sprig's text functions without env and expandenv (a template must not read
// the server's environment), fail, required (as Helm's: fail with a message
// when a value is missing or empty), the time helpers toTime, formatTime,
// parseTime, mustParseTime and toTimeLayout, and the ASN.1 helpers asn1Enc,
// asn1Marshal, asn1Seq and asn1Set.
//
// Every function is free of shared state, so one parsed template can be
// rendered by many goroutines.
func FuncMap() template.FuncMap {
	m := sprig.TxtFuncMap()
	delete(m, "env")
	delete(m, "expandenv")
	m["fail"] = func(msg string) (string, error) { return "", &FailError{Message: msg} }
	m["required"] = required
	m["toTime"] = toTime
	m["formatTime"] = formatTime
	m["parseTime"] = parseTime
	m["mustParseTime"] = mustParseTime
	m["toTimeLayout"] = toTimeLayout
	m["asn1Enc"] = asn1Encode
	m["asn1Marshal"] = asn1Marshal
	m["asn1Seq"] = asn1Sequence
	m["asn1Set"] = asn1Set
	return m
}

// required returns v, or fails with msg when v is nil or an empty string.
func required(msg string, v any) (any, error) {
	if v == nil {
		return nil, &FailError{Message: msg}
	}
	if s, ok := v.(string); ok && s == "" {
		return nil, &FailError{Message: msg}
	}
	return v, nil
}

// toTime returns a time.Time, or Unix seconds (token claims such as nbf
// arrive as JSON numbers), in UTC; anything else is the current time.
func toTime(v any) time.Time {
	var t time.Time
	switch v := v.(type) {
	case time.Time:
		t = v
	case *time.Time:
		if v == nil {
			return time.Now().UTC()
		}
		t = *v
	case int64:
		t = time.Unix(v, 0)
	case int:
		t = time.Unix(int64(v), 0)
	case int32:
		t = time.Unix(int64(v), 0)
	case float64:
		t = time.Unix(int64(v), 0)
	case json.Number:
		n, err := v.Int64()
		if err != nil {
			return time.Now().UTC()
		}
		t = time.Unix(n, 0)
	default:
		t = time.Now()
	}
	return t.UTC()
}

// formatTime is toTime in RFC 3339.
func formatTime(v any) string {
	return toTime(v).Format(time.RFC3339)
}

// parseTime is mustParseTime without the error (zero time on failure).
func parseTime(v ...string) time.Time {
	t, _ := mustParseTime(v...)
	return t
}

// mustParseTime parses: no argument is now; one is RFC 3339; two are a
// layout (see toTimeLayout) and a value; three add a time zone name.
func mustParseTime(v ...string) (time.Time, error) {
	switch len(v) {
	case 0:
		return time.Now().UTC(), nil
	case 1:
		return time.Parse(time.RFC3339, v[0])
	case 2:
		return time.Parse(toTimeLayout(v[0]), v[1])
	case 3:
		loc, err := time.LoadLocation(v[2])
		if err != nil {
			return time.Time{}, err
		}
		return time.ParseInLocation(toTimeLayout(v[0]), v[1], loc)
	}
	return time.Time{}, errors.New("parseTime takes at most 3 arguments")
}

var timeLayouts = map[string]string{
	"Layout": time.Layout, "ANSIC": time.ANSIC, "UnixDate": time.UnixDate, "RubyDate": time.RubyDate,
	"RFC822": time.RFC822, "RFC822Z": time.RFC822Z, "RFC850": time.RFC850,
	"RFC1123": time.RFC1123, "RFC1123Z": time.RFC1123Z, "RFC3339": time.RFC3339, "RFC3339Nano": time.RFC3339Nano,
	"Kitchen": time.Kitchen, "Stamp": time.Stamp, "StampMilli": time.StampMilli, "StampMicro": time.StampMicro,
	"StampNano": time.StampNano, "DateTime": time.DateTime, "DateOnly": time.DateOnly, "TimeOnly": time.TimeOnly,
}

// toTimeLayout maps the name of a Go layout constant ("RFC3339" or
// "time.RFC3339") to the layout; anything else is a layout already.
func toTimeLayout(name string) string {
	if l, ok := timeLayouts[strings.TrimPrefix(name, "time.")]; ok {
		return l
	}
	return name
}

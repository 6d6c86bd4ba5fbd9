package logfmt

import (
	"bytes"
	"errors"
	"math"
	"net/netip"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// newLogrus is the formatter Text must match.
func newLogrus() *logrus.TextFormatter {
	return &logrus.TextFormatter{DisableColors: true, FullTimestamp: true}
}

// assertSame formats e with Text and with logrus, once without a buffer and
// once with one already holding prefix, and fails unless the bytes match.
func assertSame(t *testing.T, e *logrus.Entry, prefix string) {
	t.Helper()
	for _, withBuf := range []bool{false, true} {
		want, got := *e, *e
		if withBuf {
			want.Buffer, got.Buffer = bytes.NewBufferString(prefix), bytes.NewBufferString(prefix)
		} else {
			want.Buffer, got.Buffer = nil, nil
		}
		wb, werr := newLogrus().Format(&want)
		gb, gerr := Text{}.Format(&got)
		if werr != nil || gerr != nil {
			t.Fatalf("Format errors: logrus %v, Text %v", werr, gerr)
		}
		if !bytes.Equal(gb, wb) {
			t.Fatalf("buffer %v:\n got %q\nwant %q", withBuf, gb, wb)
		}
		if withBuf && &gb[0] != &got.Buffer.Bytes()[0] {
			t.Fatal("Text did not write into entry.Buffer")
		}
	}
}

type stringer struct{ s string }

func (s *stringer) String() string { return s.s }

type both struct{}

func (both) Error() string  { return "as error" }
func (both) String() string { return "as stringer" }

type panicky struct{}

func (panicky) Error() string { panic("boom") }

type status int

type errs struct{}

func (*errs) Error() string { return "never" }

var (
	t0     = time.Date(2031, 3, 5, 1, 2, 3, 456789, time.UTC)
	logger = logrus.New()
)

func TestTextMatchesLogrus(t *testing.T) {
	var nilStringer *stringer
	var nilErr *errs
	tests := []struct {
		name string
		e    *logrus.Entry
	}{
		{"access log", accessLog()},
		{"access log error", func() *logrus.Entry {
			e := accessLog().WithField("error", `the "csr" is invalid: x=1`)
			e.Level = logrus.ErrorLevel
			return e
		}()},
		{"no data", &logrus.Entry{Time: t0, Level: logrus.InfoLevel}},
		{"zero entry", &logrus.Entry{}},
		{"message", &logrus.Entry{Time: t0, Level: logrus.WarnLevel, Message: "unknown key in ca.json is ignored",
			Data: logrus.Fields{"key": "foo"}}},
		{"safe message", &logrus.Entry{Time: t0, Level: logrus.DebugLevel, Message: "ready"}},
		{"message with newline", &logrus.Entry{Time: t0, Level: logrus.InfoLevel, Message: "line\n"}},
		{"trace level", &logrus.Entry{Time: t0, Level: logrus.TraceLevel, Data: logrus.Fields{"a": 1}}},
		{"panic level", &logrus.Entry{Time: t0, Level: logrus.PanicLevel}},
		{"fatal level", &logrus.Entry{Time: t0, Level: logrus.FatalLevel}},
		{"unknown level", &logrus.Entry{Time: t0, Level: logrus.Level(42)}},
		{"zones", &logrus.Entry{Time: t0.In(time.FixedZone("IST", 5*3600+30*60)), Level: logrus.InfoLevel}},
		{"zone seconds", &logrus.Entry{Time: t0.In(time.FixedZone("", -3661)), Level: logrus.InfoLevel}},
		{"negative year", &logrus.Entry{Time: time.Date(-12, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"big year", &logrus.Entry{Time: time.Date(123456, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"strings", &logrus.Entry{Time: t0, Data: logrus.Fields{
			"space": "a b", "quote": `say "hi"`, "eq": "a=b", "unicode": "héllo ☃", "empty": "",
			"safe": "a-b.c_d/e@f^g+h", "tab": "a\tb", "nl": "a\nb", "backslash": `a\b`, "colon": "a:b",
			"invalid": "\xff\xfe", "ctl": "\x00", "del": "a\x7f", "tilde": "~ ", "comma": "a,b", "brackets": "[a.example.com]",
		}}},
		{"numbers", &logrus.Entry{Time: t0, Data: logrus.Fields{
			"int": 200, "neg": -42, "i8": int8(-8), "i16": int16(16), "i32": int32(-32), "i64": int64(math.MinInt64),
			"u": uint(7), "u8": uint8(255), "u16": uint16(16), "u32": uint32(32), "u64": uint64(math.MaxUint64),
			"uptr": uintptr(12), "f32": float32(0.1), "f64": 1e21, "nan": math.NaN(), "inf": math.Inf(-1),
			"small": 1e-7, "named": status(3),
		}}},
		{"bools and nil", &logrus.Entry{Time: t0, Data: logrus.Fields{"t": true, "f": false, "nil": nil}}},
		{"errors", &logrus.Entry{Time: t0, Data: logrus.Fields{
			"error": errors.New("x509: bad \"cert\""), "plain": errors.New("eof"), "both": both{},
			"panics": panicky{}, "nil error": nilErr,
		}}},
		{"stringers", &logrus.Entry{Time: t0, Data: logrus.Fields{
			"d": 1500 * time.Millisecond, "addr": netip.MustParseAddr("::1"), "s": &stringer{"x y"},
			"nil": nilStringer, "time": t0,
		}}},
		{"bytes", &logrus.Entry{Time: t0, Data: logrus.Fields{"b": []byte("abc"), "q": []byte("a b"), "e": []byte{}}}},
		{"fmt fallback", &logrus.Entry{Time: t0, Data: logrus.Fields{
			"struct": struct {
				A int
				B string
			}{1, "x"}, "slice": []string{"a.example.com", "b"}, "map": map[string]int{"a": 1}, "ptr": &struct{}{},
		}}},
		{"clashes", &logrus.Entry{Time: t0, Level: logrus.InfoLevel, Message: "m", Data: logrus.Fields{
			"time": "t", "msg": "m2", "level": 3, "logrus_error": "e", "func": "f", "file": "g", "fields.x": 1,
		}}},
		{"clash overwrites", &logrus.Entry{Time: t0, Data: logrus.Fields{
			"time": "new", "fields.time": "old", "fields.msg": "kept", "fields.level": "old", "level": "new",
		}}},
		{"keys need no quoting", &logrus.Entry{Time: t0, Data: logrus.Fields{"a b": 1, "": "empty key", "k=v": "x", "é": 2}}},
		{"dropped func", logrus.NewEntry(logger).WithFields(logrus.Fields{"f": func() {}, "a": 1})},
		{"func in data", &logrus.Entry{Time: t0, Data: logrus.Fields{"f": t.Name}}},
		{"caller", &logrus.Entry{Time: t0, Caller: &runtime.Frame{Function: "main.f", File: "/x/y.go", Line: 7},
			Data: logrus.Fields{"func": "clash", "file": "clash", "a": 1}}},
		{"many fields", func() *logrus.Entry {
			e := &logrus.Entry{Time: t0, Data: logrus.Fields{}}
			for i := range 100 {
				e.Data["k"+strconv.Itoa(i)] = i
			}
			return e
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertSame(t, tt.e, "")
			assertSame(t, tt.e, "prefix")
		})
	}
}

// TestFastPath: Text must format the access log itself, with no allocation
// but the two of logrus's formatter probing for a logrus_error; the
// fallback allocates 8 times.
func TestFastPath(t *testing.T) {
	e := accessLog()
	e.Buffer = new(bytes.Buffer)
	e.Buffer.Grow(1024)
	if n := testing.AllocsPerRun(100, func() {
		e.Buffer.Reset()
		if _, err := (Text{}).Format(e); err != nil {
			t.Fatal(err)
		}
	}); n > 2 {
		t.Fatalf("Format allocates %v times per access-log entry, want at most 2", n)
	}
}

// TestDroppedFields: the probe finds the logrus_error of an entry that lost
// a func value, and leaves the buffer as it was.
func TestDroppedFields(t *testing.T) {
	b := bytes.NewBufferString("prefix")
	if droppedFields(accessLog(), b) || b.String() != "prefix" {
		t.Fatalf("access log: dropped fields, or the buffer changed to %q", b.String())
	}
	e := logrus.NewEntry(logger).WithFields(logrus.Fields{"f": func() {}, "a": 1}).WithField("b", 2)
	if !droppedFields(e, b) || b.String() != "prefix" {
		t.Fatalf("func field: not found, or the buffer changed to %q", b.String())
	}
}

// TestLogger runs Text through a logger, as the CA does: pooled buffers.
func TestLogger(t *testing.T) {
	var got, want bytes.Buffer
	for _, c := range []struct {
		out *bytes.Buffer
		f   logrus.Formatter
	}{{&got, Text{}}, {&want, newLogrus()}} {
		l := logrus.New()
		l.Out, l.Formatter = c.out, c.f
		e := l.WithTime(t0).WithField("request-id", "x")
		e.Info("")
		e.WithField("error", "bad request").Warn("")
		e.WithField("f", func() {}).Error("dropped")
		l.ReportCaller = true
		e.Info("caller")
	}
	if got.String() != want.String() {
		t.Fatalf("got\n%s\nwant\n%s", got.String(), want.String())
	}
}

func FuzzTextMatchesLogrus(f *testing.F) {
	f.Add("", uint8(4), "request-id", "0b4e3f4c-6e0a-4b2a-9f3e-2c1d6a0e8b7a", "status", int64(200), "path", "/1.0/sign", int64(1961e6), int32(0), false)
	f.Add("unknown key", uint8(3), "key", "a b", "size", int64(-1), "sans", "[a.example.com]", int64(0), int32(3600), true)
	f.Add("m", uint8(2), "time", "x", "msg", int64(7), "level", "", int64(-1e12), int32(-3661), false)
	f.Add("\n", uint8(9), "fields.time", "\"q\"", "time", int64(1), "logrus_error", "é", int64(1<<40), int32(5*3600+1800), true)
	f.Add("a=b", uint8(0), "", "=", "", int64(0), "fields.msg", "\xff", int64(-62135596800), int32(0), false)
	f.Fuzz(func(t *testing.T, msg string, level uint8, k1, v1, k2 string, i int64, k3, v3 string, sec int64, offset int32, prefix bool) {
		e := &logrus.Entry{
			Time:    time.Unix(sec, 0).In(time.FixedZone("", int(offset%(100*3600)))),
			Level:   logrus.Level(level),
			Message: msg,
			Data:    logrus.Fields{k1: v1, k2: i, k3: v3, "int": int(i), "bool": i%2 == 0},
		}
		p := ""
		if prefix {
			p = v1
		}
		assertSame(t, e, p)
	})
}

// accessLog is an entry shaped like api's access-log line.
func accessLog() *logrus.Entry {
	return &logrus.Entry{
		Logger: logger,
		Time:   t0,
		Level:  logrus.InfoLevel,
		Data: logrus.Fields{
			"request-id":     "0b4e3f4c-6e0a-4b2a-9f3e-2c1d6a0e8b7a",
			"method":         "POST",
			"path":           "/1.0/sign",
			"protocol":       "HTTP/2.0",
			"status":         201,
			"size":           2873,
			"duration":       "1.961ms",
			"duration-ns":    int64(1961000),
			"remote-address": "127.0.0.1:51324",
			"user-agent":     "Go-http-client/2.0",
			"provisioner":    "admin",
			"serial":         "283401924782639487265910293847561029384",
			"subject":        "a.example.com",
			"sans":           "[a.example.com]",
			"valid-from":     "2031-03-05T01:02:03Z",
			"valid-to":       "2031-03-06T01:02:03Z",
		},
	}
}

func benchmark(b *testing.B, f logrus.Formatter) {
	e := accessLog()
	e.Buffer = new(bytes.Buffer)
	b.ReportAllocs()
	for b.Loop() {
		e.Buffer.Reset()
		if _, err := f.Format(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkText(b *testing.B)       { benchmark(b, Text{}) }
func BenchmarkLogrusText(b *testing.B) { benchmark(b, newLogrus()) }

// Package logfmt holds a fast logrus formatter for the CA's text logs.
//
// Text writes the same bytes as
// &logrus.TextFormatter{DisableColors: true, FullTimestamp: true} (logrus
// v1.10.2) without its per-entry map copy, key slices, boxing and fmt calls:
// the access log writes one line per request, and that formatter cost a few
// percent of the CA's CPU. The one thing logrus keeps private, the
// logrus_error of an entry that lost a func value, is read through logrus's
// own formatter (see droppedFields), at the cost of two small allocations.
package logfmt

import (
	"bytes"
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// fallback formats the entries Text does not reproduce itself.
var fallback = &logrus.TextFormatter{DisableColors: true, FullTimestamp: true}

// probe formats an entry stripped of everything but what logrus keeps to
// itself: the "logrus_error" it prints when WithField(s) dropped a func
// value. logrus offers no other way to read it.
var probe = &logrus.TextFormatter{DisableColors: true, DisableTimestamp: true, DisableSorting: true}

// probeClean is what probe writes for an entry without a logrus_error into
// an empty buffer.
const probeClean = "level=panic\n"

// Text is a logrus.Formatter writing byte for byte what
// &logrus.TextFormatter{DisableColors: true, FullTimestamp: true} writes.
// Entries with caller information or a logrus_error go to that formatter.
type Text struct{}

// field is one data field as logrus prints it: clashes already renamed.
type field struct {
	key   string
	value any
}

// Format renders entry as key=value pairs: time, level, msg (when not empty),
// then the data fields sorted by key, then a newline. Like logrus it appends
// to entry.Buffer when set and returns the whole buffer.
func (Text) Format(entry *logrus.Entry) ([]byte, error) {
	b := entry.Buffer
	if b == nil {
		b = new(bytes.Buffer)
	}
	if entry.Caller != nil || droppedFields(entry, b) {
		out, err := fallback.Format(entry)
		if err != nil {
			return nil, fmt.Errorf("logfmt: logrus text formatter: %w", err)
		}
		return out, nil
	}

	var stack [24]field // the access log has about 16 fields: no allocation
	fields := stack[:0]
	for k, v := range entry.Data {
		if r := renamed(k); r != "" {
			k = r
		} else if orig, ok := strings.CutPrefix(k, "fields."); ok && renamed(orig) != "" {
			if _, clash := entry.Data[orig]; clash {
				continue // prefixFieldClashes overwrote it with entry.Data[orig]
			}
		}
		fields = append(fields, field{k, v})
	}
	slices.SortFunc(fields, func(a, b field) int { return cmp.Compare(a.key, b.key) })

	writeKey(b, logrus.FieldKeyTime)
	// An RFC 3339 time is printable ASCII without '"' or '\\' and always has
	// a ':', so logrus always quotes it and quoting only adds the quotes.
	b.WriteByte('"')
	b.Write(entry.Time.AppendFormat(b.AvailableBuffer(), time.RFC3339))
	b.WriteByte('"')
	writeKey(b, logrus.FieldKeyLevel)
	writeString(b, entry.Level.String())
	if entry.Message != "" {
		writeKey(b, logrus.FieldKeyMsg)
		writeString(b, entry.Message)
	}
	for _, f := range fields {
		writeKey(b, f.key)
		writeValue(b, f.value)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// droppedFields reports whether logrus would print a logrus_error for entry
// (a func value given to WithField or WithFields), by formatting a copy of
// the entry without its data, message and level with logrus's own formatter,
// into b's free space: b is left as it was.
func droppedFields(entry *logrus.Entry, b *bytes.Buffer) bool {
	p := *entry
	p.Data, p.Message, p.Level, p.Caller, p.Buffer = nil, "", logrus.PanicLevel, nil, b
	start := b.Len()
	out, err := probe.Format(&p)
	clean := probeClean
	if start > 0 {
		clean = " " + probeClean // logrus separates from what b holds
	}
	ok := err == nil && len(out) >= start && string(out[start:]) == clean
	b.Truncate(start)
	return !ok
}

// renamed returns the key logrus prints for a data key clashing with one of
// its own keys ("fields."+key, see prefixFieldClashes), else "". func and
// file only clash with caller reporting, which goes to fallback.
func renamed(key string) string {
	switch key {
	case logrus.FieldKeyTime:
		return "fields." + logrus.FieldKeyTime
	case logrus.FieldKeyMsg:
		return "fields." + logrus.FieldKeyMsg
	case logrus.FieldKeyLevel:
		return "fields." + logrus.FieldKeyLevel
	case logrus.FieldKeyLogrusError:
		return "fields." + logrus.FieldKeyLogrusError
	}
	return ""
}

// writeKey writes key= preceded by a space unless b is empty, as logrus's
// appendKeyValue does; keys are never quoted.
func writeKey(b *bytes.Buffer, key string) {
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(key)
	b.WriteByte('=')
}

// writeValue mirrors logrus's appendValue, case order included: an error
// that is also a Stringer prints Error(), and named numeric types without
// methods go through fmt.Sprint.
func writeValue(b *bytes.Buffer, value any) {
	switch v := value.(type) {
	case string:
		writeString(b, v)
	case []byte:
		if quoting(v) == bare {
			b.Write(v)
		} else {
			b.Write(strconv.AppendQuote(b.AvailableBuffer(), string(v)))
		}
	case bool:
		b.Write(strconv.AppendBool(b.AvailableBuffer(), v))
	case error:
		writeError(b, v)
	case fmt.Stringer:
		writeStringer(b, v)
	// Numbers are never quoted, even NaN or +Inf.
	case int:
		b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(v), 10))
	case int8:
		b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(v), 10))
	case int16:
		b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(v), 10))
	case int32:
		b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(v), 10))
	case int64:
		b.Write(strconv.AppendInt(b.AvailableBuffer(), v, 10))
	case uint:
		b.Write(strconv.AppendUint(b.AvailableBuffer(), uint64(v), 10))
	case uint8:
		b.Write(strconv.AppendUint(b.AvailableBuffer(), uint64(v), 10))
	case uint16:
		b.Write(strconv.AppendUint(b.AvailableBuffer(), uint64(v), 10))
	case uint32:
		b.Write(strconv.AppendUint(b.AvailableBuffer(), uint64(v), 10))
	case uint64:
		b.Write(strconv.AppendUint(b.AvailableBuffer(), v, 10))
	case uintptr:
		b.Write(strconv.AppendUint(b.AvailableBuffer(), uint64(v), 10))
	case float32:
		b.Write(strconv.AppendFloat(b.AvailableBuffer(), float64(v), 'g', -1, 32))
	case float64:
		b.Write(strconv.AppendFloat(b.AvailableBuffer(), v, 'g', -1, 64))
	default:
		writeString(b, fmt.Sprint(value))
	}
}

// writeString writes s, quoted when logrus's needsQuoting says so. Empty
// strings stay unquoted (QuoteEmptyFields is off).
func writeString(b *bytes.Buffer, s string) {
	switch quoting(s) {
	case bare:
		b.WriteString(s)
	case wrap:
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
	default:
		b.Write(strconv.AppendQuote(b.AvailableBuffer(), s))
	}
}

// How a value is written: as is, between quotes, or through strconv.Quote.
const (
	bare = iota
	wrap
	escape
)

// byteClass is the class each byte alone calls for. bare: logrus's unquoted
// set (ASCII letters, digits and -._/@^+). wrap: printable ASCII that
// strconv.Quote keeps as is. escape: '"', '\', control bytes and non-ASCII.
var byteClass = func() (c [256]uint8) {
	for i := range c {
		switch b := byte(i); {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', strings.IndexByte("-._/@^+", b) >= 0:
			c[i] = bare
		case b == '"' || b == '\\' || b < ' ' || b > '~':
			c[i] = escape
		default:
			c[i] = wrap
		}
	}
	return c
}()

// quoting returns the highest class of the bytes of s.
func quoting[S string | []byte](s S) uint8 {
	var q uint8
	for i := range len(s) {
		if c := byteClass[s[i]]; c > q {
			if c == escape {
				return escape
			}
			q = c
		}
	}
	return q
}

// writeError and writeStringer recover from a panicking method like logrus.
func writeError(b *bytes.Buffer, v error) {
	defer recoverValue(b, v, "Error")
	writeString(b, v.Error())
}

func writeStringer(b *bytes.Buffer, v fmt.Stringer) {
	defer recoverValue(b, v, "String")
	writeString(b, v.String())
}

// recoverValue prints what logrus prints for a value whose method panicked:
// <nil> for a nil pointer, else the panic in fmt's style.
func recoverValue(b *bytes.Buffer, v any, method string) {
	if r := recover(); r != nil {
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Pointer && rv.IsNil() {
			writeString(b, "<nil>")
		} else {
			writeString(b, fmt.Sprintf("%%!v(PANIC=%s method: %v)", method, r))
		}
	}
}

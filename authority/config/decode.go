package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// SyntaxError is a JSON syntax error located by file, line and column
// (1-based; the column counts bytes). Its message reads
// "/p/ca.json:12:5: invalid character '}' ...". It unwraps to the
// *json.SyntaxError.
type SyntaxError struct {
	File         string
	Line, Column int
	Err          *json.SyntaxError
}

// Error formats the error as "file:line:column: message".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Err.Error())
}

// Unwrap returns the underlying *json.SyntaxError.
func (e *SyntaxError) Unwrap() error { return e.Err }

// checkSyntax reports the first syntax error in data, located by line and
// column. Content after the top-level value is a syntax error too.
func checkSyntax(data []byte, name string) error {
	var v json.RawMessage
	err := json.Unmarshal(data, &v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return fmt.Errorf("%s: %w", name, err)
	}
	// Offset counts the bytes read, including the offending one.
	pos := int(se.Offset) - 1
	if pos < 0 {
		pos = 0
	}
	if pos > len(data) {
		pos = len(data)
	}
	line := 1 + bytes.Count(data[:pos], []byte("\n"))
	col := pos - bytes.LastIndexByte(data[:pos], '\n')
	return &SyntaxError{File: name, Line: line, Column: col, Err: se}
}

// decoder maps a syntactically valid JSON document onto the typed config
// structs, recording every type error (with its JSON path) and every unknown
// key instead of stopping at the first. Object keys match struct tags exactly,
// else case-insensitively (as encoding/json, and so step-ca, does).
type decoder struct {
	unknown  []string
	problems []Problem
}

type member struct {
	key string
	val json.RawMessage
}

var (
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

func (d *decoder) fail(path, format string, args ...any) {
	d.problems = append(d.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// value decodes raw (a valid JSON value) into v, which must be settable.
func (d *decoder) value(path string, raw json.RawMessage, v reflect.Value) {
	raw = bytes.TrimSpace(raw)
	t := v.Type()
	if t == rawMessageType {
		v.SetBytes(append(json.RawMessage(nil), raw...))
		return
	}
	isNull := string(raw) == "null"
	if t.Kind() == reflect.Pointer {
		if isNull {
			v.SetZero()
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.value(path, raw, v.Elem())
		return
	}
	if isNull {
		// encoding/json leaves non-pointer values untouched on null.
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
			d.fail(path, "%s", err.Error())
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.object(path, raw, v)
	case reflect.Slice:
		d.array(path, raw, v)
	case reflect.Map:
		d.mapping(path, raw, v)
	case reflect.Interface:
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			d.fail(path, "%s", err.Error())
			return
		}
		v.Set(reflect.ValueOf(x))
	case reflect.String:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			d.fail(path, "expected a string, got %s", jsonKind(raw))
			return
		}
		v.SetString(s)
	case reflect.Bool:
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			d.fail(path, "expected true or false, got %s", jsonKind(raw))
			return
		}
		v.SetBool(b)
	case reflect.Float32, reflect.Float64:
		var f float64
		if json.Unmarshal(raw, &f) != nil {
			if kind := jsonKind(raw); kind != "a number" {
				d.fail(path, "expected a number, got %s", kind)
			} else {
				d.fail(path, "number %s is out of range", raw)
			}
			return
		}
		v.SetFloat(f)
	default:
		// The config types use no other kinds; refuse rather than guess.
		d.fail(path, "cannot decode into %s", t)
	}
}

func (d *decoder) object(path string, raw json.RawMessage, v reflect.Value) {
	ms, ok := objectMembers(raw)
	if !ok {
		d.fail(path, "expected an object, got %s", jsonKind(raw))
		return
	}
	t := v.Type()
	for _, m := range ms {
		i := fieldIndex(t, m.key)
		if i < 0 {
			d.unknown = append(d.unknown, joinPath(path, m.key))
			continue
		}
		d.value(joinPath(path, m.key), m.val, v.Field(i))
	}
}

func (d *decoder) array(path string, raw json.RawMessage, v reflect.Value) {
	if len(raw) == 0 || raw[0] != '[' {
		d.fail(path, "expected an array, got %s", jsonKind(raw))
		return
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		d.fail(path, "%s", err.Error())
		return
	}
	s := reflect.MakeSlice(v.Type(), len(elems), len(elems))
	for i, e := range elems {
		d.value(fmt.Sprintf("%s[%d]", path, i), e, s.Index(i))
	}
	v.Set(s)
}

func (d *decoder) mapping(path string, raw json.RawMessage, v reflect.Value) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.fail(path, "cannot decode into %s", t)
		return
	}
	ms, ok := objectMembers(raw)
	if !ok {
		d.fail(path, "expected an object, got %s", jsonKind(raw))
		return
	}
	m := reflect.MakeMapWithSize(t, len(ms))
	for _, kv := range ms {
		e := reflect.New(t.Elem()).Elem()
		d.value(joinPath(path, kv.key), kv.val, e)
		m.SetMapIndex(reflect.ValueOf(kv.key).Convert(t.Key()), e)
	}
	v.Set(m)
}

// objectMembers splits a JSON object into its members, in document order.
func objectMembers(raw json.RawMessage) ([]member, bool) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, ok := tok.(string)
		if !ok {
			return nil, false
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, false
		}
		ms = append(ms, member{key: key, val: val})
	}
	return ms, true
}

// fieldIndex finds the struct field for a JSON key: exact tag match first,
// then a case-insensitive one. -1 when none (or the field is ignored).
func fieldIndex(t reflect.Type, key string) int {
	fold := -1
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return i
		}
		if fold < 0 && strings.EqualFold(name, key) {
			fold = i
		}
	}
	return fold
}

// joinPath appends an object key to a JSON path. Keys that are not plain
// identifiers are quoted: a.b["odd key"].
func joinPath(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			plain = false
			break
		}
	}
	if !plain {
		q, _ := json.Marshal(key)
		return path + "[" + string(q) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonKind names the JSON type of a (trimmed, valid) value for messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

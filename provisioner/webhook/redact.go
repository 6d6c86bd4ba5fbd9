package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// secretKeys are the members of a webhook entry that hold credentials:
// never served (step-ca does not serialize them either).
var secretKeys = [...]string{"secret", "bearerToken", "basicAuth"}

func isSecretKey(k string) bool {
	for _, s := range secretKeys {
		if strings.EqualFold(k, s) {
			return true
		}
	}
	return false
}

// Redact returns a provisioner entry (compact JSON) without its webhooks'
// secret, bearerToken and basicAuth, for GET /provisioners. Everything else
// is kept byte for byte, in order; an entry without them is returned as is.
func Redact(entry json.RawMessage) (json.RawMessage, error) {
	// encoding/json matches keys case-insensitively and unescaped: so does
	// the redaction; the fast path skips entries that cannot have them.
	if !bytes.ContainsRune(entry, '\\') && !bytes.Contains(bytes.ToLower(entry), []byte(`"webhooks"`)) {
		return entry, nil
	}
	top, err := members(entry)
	if err != nil {
		return nil, err
	}
	changed := false
	for i := range top {
		if !strings.EqualFold(top[i].key, "options") || isNull(top[i].val) {
			continue
		}
		opts, err := members(top[i].val)
		if err != nil {
			return nil, err
		}
		for j := range opts {
			if !strings.EqualFold(opts[j].key, "webhooks") || isNull(opts[j].val) {
				continue
			}
			var list []json.RawMessage
			if err := json.Unmarshal(opts[j].val, &list); err != nil {
				return nil, err
			}
			for k, wh := range list {
				m, err := members(wh)
				if err != nil {
					return nil, err
				}
				kept := m[:0]
				for _, mm := range m {
					if isSecretKey(mm.key) {
						changed = true
						continue
					}
					kept = append(kept, mm)
				}
				list[k] = join(kept)
			}
			opts[j].val = joinArray(list)
		}
		top[i].val = join(opts)
	}
	if !changed {
		return entry, nil
	}
	return join(top), nil
}

type member struct {
	key string
	val json.RawMessage
}

// members returns a JSON object's members in order.
func members(obj json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{k, v})
	}
	return out, nil
}

func join(ms []member) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(m.key)   // a string always encodes
		b.Truncate(b.Len() - 1) // Encode's newline
		b.WriteByte(':')
		b.Write(m.val)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func joinArray(list []json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, v := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(v)
	}
	b.WriteByte(']')
	return b.Bytes()
}

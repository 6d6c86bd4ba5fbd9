package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSyntaxErrorPosition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		data       string
		line, col  int
		msgContain string
	}{
		{"trailing comma", "{\n\t\"address\": \"x\",\n\t}", 3, 2, "invalid character '}' looking for beginning of object key string"},
		{"missing colon", "{\n  \"root\" \"x\"\n}", 2, 10, "after object key"},
		{"truncated", "{\n\t\"address\": ", 2, 12, "unexpected end of JSON input"},
		{"trailing value", "{}\n{}", 2, 1, "after top-level value"},
		{"first byte", "x", 1, 1, "invalid character 'x'"},
		{"empty", "", 1, 1, "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tt.data), "/p/ca.json")
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse error = %v (%T), want *SyntaxError", err, err)
			}
			if c != nil {
				t.Fatalf("config returned alongside a syntax error")
			}
			if se.Line != tt.line || se.Column != tt.col {
				t.Fatalf("position %d:%d, want %d:%d (%v)", se.Line, se.Column, tt.line, tt.col, err)
			}
			if !strings.HasPrefix(err.Error(), "/p/ca.json:") || !strings.Contains(err.Error(), tt.msgContain) {
				t.Fatalf("message %q", err.Error())
			}
			var js *json.SyntaxError
			if !errors.As(err, &js) {
				t.Fatalf("error does not unwrap to *json.SyntaxError")
			}
		})
	}
	_, err := Parse([]byte("{\n\t\"address\": \"x\",\n\t}"), "/p/ca.json")
	if want := "/p/ca.json:3:2: invalid character '}' looking for beginning of object key string"; err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err, want)
	}
}

func TestTypeErrorsAllReportedWithPaths(t *testing.T) {
	t.Parallel()
	data := `{
		"address": 5,
		"root": 7,
		"federatedRoots": [1],
		"dnsNames": "x",
		"authority": {
			"claims": {"maxTLSCertDuration": "abc", "enableSSHCA": "yes"},
			"provisioners": {},
			"backdate": true
		},
		"tls": {"minVersion": "1.2", "maxVersion": 1e400, "renegotiation": 0},
		"crl": {"cacheDuration": [1]},
		"ssh": []
	}`
	_, err := Parse([]byte(data), "/p/ca.json")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T), want *ValidationError", err, err)
	}
	want := []Problem{
		{"address", "expected a string, got a number"},
		{"root", "expected a string or an array of strings, got a number"},
		{"federatedRoots[0]", "expected a string, got a number"},
		{"dnsNames", "expected an array, got a string"},
		{"authority.claims.maxTLSCertDuration", `invalid duration "abc"`},
		{"authority.claims.enableSSHCA", "expected true or false, got a string"},
		{"authority.provisioners", "expected an array, got an object"},
		{"authority.backdate", `expected a duration string such as "24h", got true`},
		{"tls.minVersion", "expected a number, got a string"},
		{"tls.maxVersion", "number 1e400 is out of range"},
		{"tls.renegotiation", "expected true or false, got a number"},
		{"crl.cacheDuration", `expected a duration string such as "24h", got [1]`},
		{"ssh", "expected an object, got an array"},
	}
	if !reflect.DeepEqual(ve.Problems, want) {
		t.Fatalf("problems:\n%v\nwant:\n%v", ve.Problems, want)
	}
	if !strings.Contains(err.Error(), "\n  authority.claims.maxTLSCertDuration: invalid duration \"abc\"\n") {
		t.Fatalf("Error() = %q", err)
	}
}

func TestUnknownKeys(t *testing.T) {
	t.Parallel()
	data := `{
		"root": "r", "crt": "c", "key": "k", "address": ":443",
		"foo": 1,
		"authority": {"bar": 2, "claims": {"baz": 3}, "template": {"cn": "x"},
			"provisioners": [{"type": "JWK", "name": "a", "unknownInsideProvisioner": true}],
			"config": {"anything": "goes"}},
		"tls": {"odd key": 1, "minversion2": 1},
		"templates": {"data": {"free": "form"}},
		"db": {"type": "bbolt", "dataSource": "/x", "enableSQL": true}
	}`
	c, err := Parse([]byte(data), "ca.json")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []string{"foo", "authority.bar", "authority.claims.baz", "authority.template.cn", `tls["odd key"]`, "tls.minversion2", "db.enableSQL"}
	if !reflect.DeepEqual(c.UnknownKeys, want) {
		t.Fatalf("UnknownKeys = %q, want %q", c.UnknownKeys, want)
	}
}

func TestDecodeLikeEncodingJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		data  string
		check func(*Config) string
	}{
		{"keys match case-insensitively", `{"Address": ":1", "DNSNAMES": ["a"], "Authority": {"BackDate": "2m"}}`, func(c *Config) string {
			if c.Address != ":1" || len(c.DNSNames) != 1 || c.Authority.Backdate.Duration != 2*time.Minute || len(c.UnknownKeys) != 0 {
				return "case-insensitive keys not applied"
			}
			return ""
		}},
		{"duplicate keys in any case: last wins", `{"address": ":1", "ADDRESS": ":2"}`, func(c *Config) string {
			if c.Address != ":2" {
				return "last key should win, as in encoding/json: " + c.Address
			}
			return ""
		}},
		{"null leaves zero values", `{"federatedRoots": null, "authority": null, "address": null, "tls": {"cipherSuites": null}}`, func(c *Config) string {
			if c.FederatedRoots != nil || c.Authority != nil || c.Address != "" || c.TLS.CipherSuites != nil {
				return "null not treated as absent"
			}
			return ""
		}},
		{"root as string", `{"root": "a"}`, func(c *Config) string {
			if !reflect.DeepEqual(c.Roots(), []string{"a"}) {
				return "root string not normalised"
			}
			return ""
		}},
		{"root as array", `{"root": ["a", "b"]}`, func(c *Config) string {
			if !reflect.DeepEqual(c.Roots(), []string{"a", "b"}) {
				return "root array not kept"
			}
			return ""
		}},
		{"durations as nanoseconds", `{"authority": {"backdate": 60000000000}}`, func(c *Config) string {
			if c.Authority.Backdate.Duration != time.Minute {
				return "integer duration not accepted"
			}
			return ""
		}},
		{"provisioners kept verbatim", `{"authority": {"provisioners": [ {"name":"a",  "type":"JWK"} ]}}`, func(c *Config) string {
			if string(c.Authority.Provisioners[0]) != `{"name":"a",  "type":"JWK"}` {
				return "provisioner entry changed: " + string(c.Authority.Provisioners[0])
			}
			return ""
		}},
		{"empty array is not nil", `{"dnsNames": []}`, func(c *Config) string {
			if c.DNSNames == nil {
				return "[] decoded as nil"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Decode([]byte(tt.data), "ca.json")
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if msg := tt.check(c); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}

func TestDecodeTopLevelNotObject(t *testing.T) {
	t.Parallel()
	for _, data := range []string{`[]`, `"x"`, `1`, `true`} {
		_, err := Parse([]byte(data), "ca.json")
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Path != "" {
			t.Fatalf("Parse(%s) = %v", data, err)
		}
		if !strings.HasPrefix(err.Error(), "ca.json: expected an object, got ") {
			t.Fatalf("Parse(%s) message %q", data, err)
		}
	}
	// null is an empty config: it decodes, then fails validation.
	c, err := Parse([]byte("null"), "ca.json")
	if c == nil || err == nil {
		t.Fatalf("Parse(null) = %v, %v", c, err)
	}
}

func TestProvisionerHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw       string
		typ, name string
		err       string
	}{
		{`{"type":"JWK","name":"admin"}`, "JWK", "admin", ""},
		{`{"Type":"OIDC","NAME":"g"}`, "OIDC", "g", ""},
		{`{"name":"a"}`, "", "", "type: missing"},
		{`{"type":"JWK"}`, "JWK", "", "name: missing"},
		{`{"type":"JWK","name":""}`, "JWK", "", "name: must not be empty"},
		{`{"type":1,"name":"a"}`, "", "", "type: expected a string, got a number"},
		{`[]`, "", "", "expected an object, got an array"},
		{`null`, "", "", "expected an object, got null"},
	}
	for _, tt := range tests {
		typ, name, err := ProvisionerHeader(json.RawMessage(tt.raw))
		if typ != tt.typ || name != tt.name {
			t.Errorf("ProvisionerHeader(%s) = %q, %q", tt.raw, typ, name)
		}
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || err.Error() != tt.err) {
			t.Errorf("ProvisionerHeader(%s) error = %v, want %q", tt.raw, err, tt.err)
		}
	}
}

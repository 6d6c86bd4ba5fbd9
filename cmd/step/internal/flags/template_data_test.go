package flags

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestParseTemplateData(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "data.json")
	if err := os.WriteFile(file, []byte(`{"a": "file", "b": 1, "keep": true, "big": 12345678901234567890}`), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ParseTemplateData(file, []string{"a=flag", "b= 2 ", "list=[1,\"x\"]", "obj={\"k\":\"v\"}", "s=not json", "eq=x=y", "empty=", "two=1 2"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":"flag","b":2,"big":12345678901234567890,"empty":"","eq":"x=y","keep":true,"list":[1,"x"],"obj":{"k":"v"},"s":"not json","two":"1 2"}`
	if string(b) != want {
		t.Fatalf("ParseTemplateData = %s, want %s", b, want)
	}
	for _, tt := range []struct {
		file  string
		pairs []string
		want  string
	}{
		{"", []string{"novalue"}, "want key=value"},
		{"", []string{"=v"}, "want key=value"},
		{filepath.Join(t.TempDir(), "missing.json"), nil, "error reading template data"},
		{writeTemp(t, `[1]`), nil, "must be a JSON object"},
		{writeTemp(t, `null`), nil, "must be a JSON object"},
	} {
		if _, err := ParseTemplateData(tt.file, tt.pairs); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("ParseTemplateData(%q, %q) = %v, want an error with %q", tt.file, tt.pairs, err, tt.want)
		}
	}
}

func writeTemp(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "data.json")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// --set keeps each occurrence whole (commas included); TemplateData reports
// whether any data flag was given. Not parallel: it runs a cli.App.
func TestSetFlag(t *testing.T) {
	tests := []struct {
		args []string
		ok   bool
		want string
	}{
		{nil, false, "null"},
		{[]string{"--set", `sans=["a.example.com","b.example.com"]`, "--set", "org=Acme, Inc."}, true, `{"org":"Acme, Inc.","sans":["a.example.com","b.example.com"]}`},
		{[]string{"--set-file", writeTemp(t, `{"org":"File"}`)}, true, `{"org":"File"}`},
	}
	for _, tt := range tests {
		var got map[string]any
		var ok bool
		var err error
		app := &cli.App{Flags: []cli.Flag{Set(), SetFile()}, Action: func(c *cli.Context) error {
			got, ok, err = TemplateData(c)
			return nil
		}}
		if runErr := app.Run(append([]string{"x"}, tt.args...)); runErr != nil {
			t.Fatal(runErr)
		}
		b, _ := json.Marshal(got)
		if err != nil || ok != tt.ok || string(b) != tt.want {
			t.Fatalf("%q: TemplateData = %s, %v, %v; want %s, %v", tt.args, b, ok, err, tt.want, tt.ok)
		}
	}
}

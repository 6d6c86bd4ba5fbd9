package config

import (
	"errors"
	"strings"
	"testing"
)

func TestAuditBlock(t *testing.T) {
	t.Parallel()
	c, err := Decode([]byte(`{"audit": {"file": "/var/log/step-ca/audit.log", "hashChain": true}}`), "ca.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.UnknownKeys) != 0 {
		t.Fatalf("audit is reported unknown: %v", c.UnknownKeys)
	}
	if c.Audit == nil || c.Audit.File != "/var/log/step-ca/audit.log" || !c.Audit.HashChain {
		t.Fatalf("decoded %+v", c.Audit)
	}
	for _, tc := range []struct {
		audit *Audit
		path  string
	}{
		{&Audit{}, "audit.file"},
		{&Audit{File: "stdout", HashChain: true}, "audit.hashChain"},
	} {
		c := validBase()
		c.Audit = tc.audit
		var ve *ValidationError
		if err := c.Validate(); !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Path != tc.path {
			t.Errorf("%+v: got %v, want one problem at %s", tc.audit, err, tc.path)
		}
	}
	c = validBase()
	c.Audit = &Audit{File: "stdout"}
	if err := c.Validate(); err != nil {
		t.Fatalf("audit to stdout: %v", err)
	}
	if !strings.Contains(c.Audit.File, "stdout") || !c.Audit.AuditToStdout() {
		t.Fatal("stdout not recognised")
	}
}

package e2e

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// listedCert is one record of `step ca certificates list --format json`.
type listedCert struct {
	Serial      string    `json:"serial"`
	Subject     string    `json:"subject"`
	SANs        []string  `json:"sans"`
	NotAfter    time.Time `json:"notAfter"`
	Provisioner string    `json:"provisioner"`
	Revoked     bool      `json:"revoked"`
	ReasonCode  *int      `json:"reasonCode"`
}

// TestInventory issues three certificates from a running CA (one revoked,
// one short-lived) and lists them with `step ca certificates list` in every
// format and with each filter, while the CA keeps running; on the default
// Badger store and on bbolt (SQL inventory is covered by db/dbtest against
// the real servers).
func TestInventory(t *testing.T) {
	t.Parallel()
	t.Run("badger", func(t *testing.T) {
		t.Parallel()
		testInventory(t, initPKI(t))
	})
	t.Run("bbolt", func(t *testing.T) {
		t.Parallel()
		p := initPKI(t)
		setDB(t, p.configPath(), map[string]any{"type": "bbolt", "dataSource": filepath.Join(p.caPath, "db", "ca.db")})
		testInventory(t, p)
	})
}

func testInventory(t *testing.T, p *testPKI) {
	ca := p.start(t) // stopped when t ends
	u := p.client(t)
	pw := u.path("password.txt")
	serials := map[string]string{}
	for _, c := range []struct{ cn, notAfter string }{{"foo.example.com", ""}, {"bar.example.com", ""}, {"short.internal", "6m"}} {
		args := []string{"ca", "certificate", c.cn, u.path(c.cn + ".crt"), u.path(c.cn + ".key"), "--provisioner-password-file", pw}
		if c.notAfter != "" {
			args = append(args, "--not-after", c.notAfter)
		}
		u.ok(t, args...)
		serials[c.cn] = readCerts(t, u.path(c.cn+".crt"))[0].SerialNumber.String()
	}
	u.ok(t, "ca", "revoke", serials["bar.example.com"], "--reasonCode", "Superseded", "--provisioner-password-file", pw)

	list := func(t *testing.T, args ...string) []listedCert {
		t.Helper()
		r := u.ok(t, append([]string{"ca", "certificates", "list", "--format", "json", "--provisioner-password-file", pw}, args...)...)
		var out []listedCert
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("list %v: stdout is not a JSON array: %v\n%s", args, err, r)
		}
		return out
	}
	subjects := func(cs []listedCert) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Subject)
		}
		slices.Sort(out)
		return out
	}

	t.Run("json", func(t *testing.T) {
		all := list(t)
		if got := subjects(all); !slices.Equal(got, []string{"bar.example.com", "foo.example.com", "short.internal"}) {
			t.Fatalf("listed %v", got)
		}
		for _, c := range all {
			if c.Serial != serials[c.Subject] || c.Provisioner != "admin" || !slices.Equal(c.SANs, []string{c.Subject}) {
				t.Fatalf("record %+v (want serial %s, provisioner admin)", c, serials[c.Subject])
			}
			if c.Revoked != (c.Subject == "bar.example.com") {
				t.Fatalf("record %+v: revoked = %v", c, c.Revoked)
			}
			if c.Revoked && (c.ReasonCode == nil || *c.ReasonCode != 4) {
				t.Fatalf("revoked record %+v: want reasonCode 4", c)
			}
		}
	})
	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			args []string
			want []string
		}{
			{[]string{"--expiring-before", "1h"}, []string{"short.internal"}},
			{[]string{"--expiring-after", "1h"}, []string{"bar.example.com", "foo.example.com"}},
			{[]string{"--revoked"}, []string{"bar.example.com"}},
			{[]string{"--revoked=false"}, []string{"foo.example.com", "short.internal"}},
			{[]string{"--subject", "EXAMPLE.COM"}, []string{"bar.example.com", "foo.example.com"}},
			{[]string{"--issued-by", "admin", "--subject", "short"}, []string{"short.internal"}},
			{[]string{"--issued-by", "nobody"}, nil},
			{[]string{"--expiring-before", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, []string{"short.internal"}},
		}
		for _, tc := range tests {
			if got := subjects(list(t, tc.args...)); !slices.Equal(got, tc.want) {
				t.Errorf("list %v: got %v, want %v", tc.args, got, tc.want)
			}
		}
		if got := list(t, "--limit", "2"); len(got) != 2 {
			t.Errorf("--limit 2: got %d records", len(got))
		}
	})
	t.Run("csv", func(t *testing.T) {
		r := u.ok(t, "ca", "certificates", "list", "--format", "csv", "--provisioner-password-file", pw)
		rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
		if err != nil {
			t.Fatalf("stdout is not CSV: %v\n%s", err, r)
		}
		if len(rows) != 4 || rows[0][0] != "serial" || rows[0][6] != "status" {
			t.Fatalf("CSV = %q, want a header and 3 rows", rows)
		}
		status := map[string]string{}
		for _, row := range rows[1:] {
			status[row[1]] = row[6]
		}
		if status["bar.example.com"] != "Revoked" || status["foo.example.com"] != "Valid" || status["short.internal"] != "Valid" {
			t.Fatalf("CSV statuses %v", status)
		}
	})
	t.Run("table", func(t *testing.T) {
		r := u.ok(t, "ca", "certificates", "list", "--provisioner-password-file", pw)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[0], "SERIAL") || !strings.Contains(lines[0], "NOT AFTER") || !strings.Contains(lines[0], "STATUS") {
			t.Fatalf("table:\n%s", r.stdout)
		}
		if !strings.Contains(r.stdout, serials["bar.example.com"]) || !strings.Contains(r.stdout, "Revoked") {
			t.Fatalf("table lacks the revoked certificate:\n%s", r.stdout)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		u.fails(t, "ca", "certificates", "list", "--format", "yaml", "--provisioner-password-file", pw)
		u.fails(t, "ca", "certificates", "list", "--expiring-before", "tomorrow", "--provisioner-password-file", pw)
		r := u.fails(t, "ca", "certificates", "list", "--provisioner-password-file", u.writeFile(t, "wrong.txt", "wrong\n", 0o600))
		if !strings.Contains(r.stderr, "password") {
			t.Fatalf("wrong password: %s", r)
		}
	})
	// db.retention in ca.json starts the pruning job: it runs once at start
	// and logs its count; nothing is old enough to go, so the listing is
	// unchanged after the restart.
	t.Run("retention", func(t *testing.T) {
		ca.stop(t)
		var cfg map[string]any
		if err := json.Unmarshal(readFile(t, p.configPath()), &cfg); err != nil {
			t.Fatalf("ca.json: %v", err)
		}
		db, ok := cfg["db"].(map[string]any)
		if !ok {
			t.Fatalf("ca.json has no db block: %v", cfg)
		}
		db["retention"] = "24h"
		b, err := json.MarshalIndent(cfg, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p.configPath(), b, 0o600); err != nil {
			t.Fatal(err)
		}
		ca = p.start(t)
		ca.waitLog(t, 0, "retention: removed 0 expired certificate records")
		if got := subjects(list(t)); len(got) != 3 {
			t.Fatalf("after restart with retention: listed %v", got)
		}
	})
}

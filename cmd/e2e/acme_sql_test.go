package e2e

import (
	"context"
	"os"
	"testing"

	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/challenge/http01"
	"github.com/jackc/pgx/v5"
)

// TestACMEOnPostgreSQL: lego gets a certificate (http-01, on 127.0.0.4:80)
// from a CA whose database is PostgreSQL, and the ACME state lands in the
// real tables of schema 7 with its columns filled: the account with its
// key thumbprint, the valid order and the certificate under the issued
// serial.
func TestACMEOnPostgreSQL(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("http-01 needs port 80: run as root")
	}
	name := haPostgres.database(t)
	p := initPKI(t)
	p.op.ok(t, "ca", "provisioner", "add", "acme", "--type", "ACME")
	setDB(t, p.configPath(), map[string]any{"type": "postgresql", "dataSource": haPostgres.caDSN, "database": name})
	d := startDNS(t, map[string]string{"pg.acme.test": "127.0.0.4"})
	ca := launchCA(t, t, p.caPath, p.configPath(), "--password-file", p.pwFile, "--resolver", d.addr)
	ca.waitLog(t, 0, "Serving HTTPS on")

	c := legoClient(t, p)
	if err := c.Challenge.SetHTTP01Provider(http01.NewProviderServer("127.0.0.4", "80")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := c.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: []string{"pg.acme.test"}, KeyType: certcrypto.EC256, Bundle: true})
	if err != nil {
		t.Fatalf("obtain: %v\nCA log:\n%s", err, ca.log.tail(20))
	}
	leaf := checkACMEIssued(t, p, res, "pg.acme.test")

	conn, err := pgx.Connect(ctx, "postgresql://postgres@127.0.0.1:5432/"+name+"?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []struct {
		sql  string
		want int
	}{
		{`SELECT count(*) FROM acme_accounts WHERE status = 'valid' AND key_id IS NOT NULL AND created_at IS NOT NULL`, 1},
		{`SELECT count(*) FROM acme_orders o JOIN acme_accounts a ON a.id = convert_to(o.account_id, 'UTF8')
			WHERE o.status = 'valid' AND o.expires_at IS NOT NULL AND o.certificate_id IS NOT NULL`, 1},
		{`SELECT count(*) FROM acme_certs c JOIN acme_orders o ON o.id = convert_to(c.order_id, 'UTF8')
			WHERE c.serial = '` + leaf.SerialNumber.String() + `'`, 1},
		{`SELECT count(*) FROM acme_authzs WHERE status = 'valid' AND account_id IS NOT NULL`, 1},
		{`SELECT count(*) FROM acme_challenges WHERE status = 'valid' AND authz_id IS NOT NULL`, 1},
		{`SELECT count(*) FROM "acme_keyID_accountID_index" k JOIN acme_accounts a ON convert_to(a.key_id, 'UTF8') = k.nkey`, 1},
		{`SELECT count(*) FROM nonces WHERE created_at IS NULL`, 0},
	} {
		var n int
		if err := conn.QueryRow(ctx, q.sql).Scan(&n); err != nil || n != q.want {
			t.Errorf("%s: %d, %v; want %d", q.sql, n, err, q.want)
		}
	}
}

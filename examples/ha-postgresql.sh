#!/usr/bin/env bash
# A walkthrough of high availability on PostgreSQL, without docker-compose:
# two step-ca nodes share one PostgreSQL database, so a certificate issued,
# a one-time token used or a certificate revoked on one node is seen by the
# other at once. Everything lives in a temporary directory; the database is
# left in place for you to look at (drop it with the command printed last).
#
#   examples/ha-postgresql.sh
#
# Environment (defaults in brackets):
#   STEP, STEP_CA  the binaries [step, step-ca from $PATH]
#   PG             the server's DSN for ca.json db.dataSource
#                  [postgresql://postgres@127.0.0.1:5432/?sslmode=disable]
#   DB             the database both nodes use (created by step-ca) [mayfly_ha_walkthrough]
#   PORT1, PORT2   the nodes' ports on 127.0.0.1 [9001, 9002]
# Needs jq. In production the nodes run on separate hosts behind a load
# balancer that probes GET /ready (200 only when the database is reachable).
set -euo pipefail

STEP=${STEP:-step}
STEP_CA=${STEP_CA:-step-ca}
PG=${PG:-postgresql://postgres@127.0.0.1:5432/?sslmode=disable}
DB=${DB:-mayfly_ha_walkthrough}
PORT1=${PORT1:-9001}
PORT2=${PORT2:-9002}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n==> %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

say "1. One CA, made with step ca init (STEPPATH=$WORK/node1)"
printf 'walkthrough-password\n' >"$WORK/password.txt"
chmod 600 "$WORK/password.txt"
STEPPATH="$WORK/node1" "$STEP" ca init --name "HA Example" --dns localhost \
	--address "127.0.0.1:$PORT1" --provisioner admin \
	--password-file "$WORK/password.txt" --provisioner-password-file "$WORK/password.txt" >/dev/null

say "2. Its database is PostgreSQL ($DB)"
cfg="$WORK/node1/config/ca.json"
jq --arg pg "$PG" --arg db "$DB" '.db = {type: "postgresql", dataSource: $pg, database: $db}' \
	"$cfg" >"$cfg.new" && mv "$cfg.new" "$cfg"

say "3. A second node: the same keys and configuration, another address"
cp -r "$WORK/node1" "$WORK/node2"
cfg2="$WORK/node2/config/ca.json"
sed "s#$WORK/node1#$WORK/node2#g" "$cfg" | jq --arg a "127.0.0.1:$PORT2" '.address = $a' >"$cfg2"

say "4. Start both nodes"
for n in 1 2; do
	STEPPATH="$WORK/node$n" "$STEP_CA" "$WORK/node$n/config/ca.json" \
		--password-file "$WORK/password.txt" >"$WORK/node$n.log" 2>&1 &
	PIDS+=($!)
done
for port in "$PORT1" "$PORT2"; do
	for _ in $(seq 1 120); do
		if "$STEP" ca health --ca-url "https://localhost:$port" --root "$WORK/node1/certs/root_ca.crt" >/dev/null 2>&1; then
			echo "node on port $port: ok"
			continue 2
		fi
		sleep 0.5
	done
	cat "$WORK"/node*.log >&2
	fail "the node on port $port did not start"
done

say "5. A client trusts the CA by its root fingerprint"
FP=$("$STEP" certificate fingerprint "$WORK/node1/certs/root_ca.crt")
export STEPPATH="$WORK/client"
"$STEP" ca bootstrap --ca-url "https://localhost:$PORT1" --fingerprint "$FP" >/dev/null
cd "$WORK"

say "6. Node 1 issues a certificate with a one-time token"
TOKEN=$("$STEP" ca token svc.example.com --provisioner-password-file "$WORK/password.txt")
"$STEP" ca certificate svc.example.com svc.crt svc.key --token "$TOKEN" --ca-url "https://localhost:$PORT1"

say "7. Node 2 refuses the same token: it was used on node 1"
if "$STEP" ca certificate svc.example.com again.crt again.key --token "$TOKEN" --ca-url "https://localhost:$PORT2"; then
	fail "node 2 accepted a token node 1 had used"
fi
echo "node 2 refused the replayed token"

say "8. Node 2 revokes the certificate node 1 issued"
"$STEP" ca revoke --cert svc.crt --key svc.key --ca-url "https://localhost:$PORT2"

say "9. Node 1 refuses to renew it: it knows of the revocation"
if "$STEP" ca renew --force svc.crt svc.key --ca-url "https://localhost:$PORT1"; then
	fail "node 1 renewed a certificate revoked on node 2"
fi
echo "node 1 refused to renew the revoked certificate"

say "Done: both nodes share certificates, used tokens and revocations through PostgreSQL."
echo "Drop the database with: psql '${PG%%\?*}' -c 'DROP DATABASE $DB'"

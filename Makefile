# Mayfly: two commands matter. `make run` builds and runs a demo CA; `make test` runs the tests.
GO        ?= go
BIN       := bin
DEMO      := $(CURDIR)/demo
DEMO_ADDR ?= 127.0.0.1:9443
PKGS      := ./...

.PHONY: all build build-deps run test vet deps fuzz race bench clean

all: build

build: build-deps
	$(GO) build -o $(BIN)/ ./cmd/step ./cmd/step-ca

# build-deps installs what the default build needs beyond Go: the PC/SC headers the YubiKey
# backend (piv-go, cgo) compiles against, and CA certificates to download modules over HTTPS.
# Without root or apt, install pkg-config and libpcsclite-dev yourself, or build without that
# backend: go build -tags noyubikey ./cmd/...
build-deps:
	@missing=""; \
	[ -e /etc/ssl/certs/ca-certificates.crt ] || missing="$$missing ca-certificates"; \
	pkg-config --exists libpcsclite 2>/dev/null || missing="$$missing pkg-config libpcsclite-dev"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# run: on first use, `step ca init` a demo PKI into demo/steppath with a generated
# password in demo/password.txt; then start step-ca on $(DEMO_ADDR).
run: build
	@if [ ! -f "$(DEMO)/steppath/config/ca.json" ]; then \
		mkdir -p "$(DEMO)" && chmod 0700 "$(DEMO)" && \
		head -c 24 /dev/urandom | base64 > "$(DEMO)/password.txt" && chmod 0600 "$(DEMO)/password.txt" && \
		STEPPATH="$(DEMO)/steppath" $(BIN)/step ca init --name "Mayfly Demo CA" --dns localhost \
			--address $(DEMO_ADDR) --provisioner admin --password-file "$(DEMO)/password.txt" \
			--provisioner-password-file "$(DEMO)/password.txt" ; \
	fi
	@echo "CA URL:           https://localhost:$(lastword $(subst :, ,$(DEMO_ADDR)))"
	@echo "Root fingerprint: $$($(BIN)/step certificate fingerprint $(DEMO)/steppath/certs/root_ca.crt)"
	@echo "Password file:    $(DEMO)/password.txt (CA keys and the 'admin' provisioner)"
	STEPPATH="$(DEMO)/steppath" exec $(BIN)/step-ca "$(DEMO)/steppath/config/ca.json" --password-file "$(DEMO)/password.txt"

# deps installs the Debian packages the tests use (already on most machines); ca-certificates
# lets go download the modules over HTTPS. PostgreSQL and MariaDB are not installed: without
# them their tests skip (see README, Tests).
deps: build-deps
	@missing=""; \
	for p in openssl:openssl ssh-keygen:openssh-client systemd-analyze:systemd scepclient:scep jq:jq softhsm2-util:softhsm2 sshd:openssh-server certbot:certbot; do \
		command -v $${p%%:*} >/dev/null 2>&1 || missing="$$missing $${p##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

vet:
	$(GO) vet $(PKGS)

test: deps vet
	$(GO) test -count=1 -timeout 15m $(PKGS)
	@$(MAKE) --no-print-directory fuzz

# race: the unit tests of the packages that share state between goroutines, under the race
# detector (about 6 minutes on 2 cores; not part of make test, run it after concurrency changes).
RACE_PKGS := ./db/... ./authority/... ./api/... ./ca/... ./provisioner/... ./policy/... ./ssh/... ./internal/... ./kms/... ./templates/...
race: deps
	$(GO) test -race -count=1 -timeout 20m $(RACE_PKGS)

# fuzz: run every fuzz target (each `func FuzzX` in a _test.go) for FUZZTIME, one
# `go test -fuzz` at a time, e.g. make fuzz FUZZTIME=2m. Go's corpus cache stays in
# $(go env GOCACHE)/fuzz; a failing input is written to the package's testdata/fuzz/FuzzX/
# (commit it with the fix: it then runs in every `go test`). Any failure fails make fuzz,
# after the other targets have run, naming the target and the failing input; see
# tools/fuzz.sh for the one failure of Go 1.26's fuzzing coordinator it tolerates.
FUZZTIME ?= 8s
fuzz:
	@GO="$(GO)" bash tools/fuzz.sh $(FUZZTIME)

# bench: build, then measure a fresh CA made with `step ca init` defaults on a free loopback
# port: sign (c=64), renew over mTLS (c=16) and both mixed (c=32); see tools/bench/README.md.
# Flags go through BENCH_ARGS, e.g. make bench BENCH_ARGS="--db bbolt"; for JSON on stdout
# use make -s bench BENCH_ARGS=--json.
bench: build
	@$(GO) build -o $(BIN)/ ./tools/bench ./cmd/bench-prefill
	@$(BIN)/bench --bin $(BIN) $(BENCH_ARGS)

clean:
	rm -rf $(BIN)

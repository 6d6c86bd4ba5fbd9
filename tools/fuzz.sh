#!/usr/bin/env bash
# fuzz.sh FUZZTIME: run every fuzz target (each `func FuzzX` in a _test.go) for
# FUZZTIME, one `go test -fuzz` at a time. A target fails when it writes a
# failing input (testdata/fuzz/FuzzX/...) or fails for any reason other than
# the one below; all targets run, then the failures are listed.
#
# Go 1.26's fuzzing coordinator may report "context deadline exceeded" when
# -fuzztime ends while a worker is still busy, which happens on a loaded
# machine (golang/go#75804, fixed in Go 1.27): no input failed then. Such a
# run is tried once more, and if it ends the same way it is reported as a
# warning, not a failure.
set -u
fuzztime=${1:-8s}
go=${GO:-go}
failed=0
run() { # dir name
	"$go" test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" "$1" 2>&1
}
coordinator_race() { # output
	! grep -q 'Failing input written to' <<<"$1" &&
		grep -q '^    context deadline exceeded$' <<<"$1" &&
		[ "$(grep -c -- '--- FAIL' <<<"$1")" -eq 1 ]
}
for t in $(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed -E 's|^(.*)/[^/]*:func (Fuzz.*)$|\1:\2|' | sort -u); do
	dir=${t%%:*} name=${t##*:}
	echo "fuzz $dir $name ($fuzztime)"
	out=$(run "$dir" "$name") && continue
	if coordinator_race "$out"; then
		echo "  $name: Go's fuzzing coordinator stopped with 'context deadline exceeded' and no failing input (golang/go#75804); trying again"
		out=$(run "$dir" "$name") && continue
		if coordinator_race "$out"; then
			echo "  warning: $name in $dir: the same again, no failing input; not counted as a failure"
			continue
		fi
	fi
	failed=$((failed + 1))
	echo "$out" | tail -n 40
	input=$(sed -nE 's|.*Failing input written to (testdata/fuzz/[^ ]*).*|\1|p' <<<"$out" | head -n 1)
	echo "FAIL: $name in $dir${input:+, failing input: $dir/$input}"
done
if [ "$failed" -ne 0 ]; then
	echo "make fuzz: $failed fuzz target(s) failed"
	exit 1
fi

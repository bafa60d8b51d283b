#!/usr/bin/env bash
# Runs the whole test suite: setup (with the reference tools the tests use), gofmt, go mod
# tidy (must change nothing), go vet, staticcheck,
# go test (OpenBLAS build; the pure-Go BLAS package too), and the race detector on the packages where it is affordable.
# Extra arguments go to `go test` (e.g. scripts/test.sh -run Conv -v).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash scripts/setup.sh --test-deps

export CGO_ENABLED=1
tags=openblas

echo "test: gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.deps/*'))
if [[ -n $unformatted ]]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "test: go mod tidy"
if ! tidy=$(go mod tidy -diff 2>&1); then
	echo "go mod tidy would change go.mod/go.sum (run it and commit the result):" >&2
	echo "$tidy" >&2
	exit 1
fi

echo "test: go vet"
go vet -tags "$tags" ./...
echo "test: go vet (pure-Go build, no OpenBLAS)"
go vet ./...

echo "test: staticcheck (staticcheck.conf says which checks are off and why)"
.deps/bin/staticcheck -tags "$tags" ./...
.deps/bin/staticcheck ./...

echo "test: go test"
go test -tags "$tags" -timeout 60m "$@" ./...
# The pure-Go build (no OpenBLAS) is vetted above; its SGEMM, the one kernel that differs, is
# tested here against the same references.
echo "test: go test (pure-Go BLAS)"
go test -timeout 10m "$@" ./trainer/blas/

# The race detector multiplies run time by 5-10x: run it on the packages with concurrency
# (CLI plumbing, ONNX Runtime loading, data loading), not on the numeric kernels.
race_pkgs=$(go list ./cli/... ./onnx/ort/... ./datasets/... 2>/dev/null || true)
if [[ -n $race_pkgs ]]; then
	echo "test: go test -race"
	go test -tags "$tags" -race -timeout 30m -short $race_pkgs
fi
echo "test: an experiment and a sharded inference on a real Slurm (scripts/slurm-test.sh)"
bash scripts/slurm-test.sh
echo "test: all passed"

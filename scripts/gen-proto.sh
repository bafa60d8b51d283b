#!/usr/bin/env bash
# Regenerates onnx/onnxpb/onnx.pb.go from onnx/onnxpb/onnx.proto (the official ONNX schema,
# vendored unmodified) with protoc and protoc-gen-go.
#
# Usage: scripts/gen-proto.sh [OUT_DIR]
#   OUT_DIR defaults to onnx/onnxpb; the test that checks the generated code is current
#   generates into a temporary directory and compares.
#
# Needs protoc (Debian: protobuf-compiler; scripts/setup.sh --test-deps installs it).
# Installs protoc-gen-go at the version go.mod pins for google.golang.org/protobuf when it is
# missing or a different version.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

out=${1:-onnx/onnxpb}
gen_version=v1.36.12
go_pkg=github.com/pgaug/pgaug/onnx/onnxpb

die() {
	printf 'gen-proto: FAILED: %s\n' "$*" >&2
	exit 1
}

command -v protoc >/dev/null ||
	die "protoc not found (apt-get install protobuf-compiler, or run scripts/setup.sh --test-deps)"

gobin=$(go env GOBIN)
[[ -n $gobin ]] || gobin="$(go env GOPATH)/bin"
gen="$gobin/protoc-gen-go"
if [[ ! -x $gen ]] || [[ $("$gen" --version 2>/dev/null) != "protoc-gen-go $gen_version" ]]; then
	printf 'gen-proto: installing protoc-gen-go %s into %s\n' "$gen_version" "$gobin" >&2
	go install "google.golang.org/protobuf/cmd/protoc-gen-go@$gen_version" ||
		die "go install protoc-gen-go@$gen_version failed"
fi

mkdir -p "$out"
# The vendored schema has no go_package option (it is kept byte-identical to upstream); the
# M option maps it to this module's Go package instead.
protoc \
	--plugin=protoc-gen-go="$gen" \
	--proto_path=onnx/onnxpb \
	--go_out="$out" \
	--go_opt=paths=source_relative \
	--go_opt="Monnx.proto=$go_pkg;onnxpb" \
	onnx.proto ||
	die "protoc failed on onnx/onnxpb/onnx.proto"

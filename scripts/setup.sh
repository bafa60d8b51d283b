#!/usr/bin/env bash
# Installs what pgaug needs on a fresh Debian/Ubuntu machine with Go, idempotently:
#   - libopenblas-dev (apt): the BLAS gorgonia uses (about 4x faster than its pure-Go default);
#   - ONNX Runtime 1.30.0 for linux-x64 (CPU), taken from the npm package onnxruntime-node
#     with `npm pack` (no install scripts run), checked against its sha256, and put in
#     .deps/onnxruntime/ (git ignores .deps/);
#   - with --test-deps, also what the tests use as references: Debian's python3-torch,
#     python3-torchvision, python3-onnx (to export real networks and reference outputs) and
#     protobuf-compiler (to check the generated ONNX protobuf code is current), and
#     staticcheck (honnef.co/go/tools, built from the Go module proxy into .deps/bin/);
#   - then builds bin/pgaug (with OpenBLAS).
# Every step says what it does; a failing step stops the script with a message and exit 1.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

test_deps=0
for arg in "$@"; do
	case "$arg" in
	--test-deps) test_deps=1 ;;
	-h | --help)
		sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "setup.sh: unknown option $arg (known: --test-deps)" >&2
		exit 2
		;;
	esac
done

ORT_VERSION=1.30.0
ORT_TGZ_SHA256=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
ORT_LIB_SHA256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
ORT_DIR="$root/.deps/onnxruntime"
ORT_LIB="$ORT_DIR/libonnxruntime.so.1"

say() { printf 'setup: %s\n' "$*"; }
die() {
	printf 'setup: FAILED: %s\n' "$*" >&2
	exit 1
}

command -v go >/dev/null || die "Go is not on PATH (install Go 1.26 or later first)"

# --- Debian packages --------------------------------------------------------------------
apt_packages=(libopenblas-dev pkg-config gcc)
command -v npm >/dev/null || apt_packages+=(npm)
if ((test_deps)); then
	apt_packages+=(python3-torch python3-torchvision python3-onnx python3-numpy protobuf-compiler dataset-fashion-mnist)
fi
missing=()
for p in "${apt_packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	say "installing Debian packages: ${missing[*]}"
	sudo=""
	if [[ $(id -u) != 0 ]]; then
		command -v sudo >/dev/null || die "need root (or sudo) to apt-get install ${missing[*]}"
		sudo=sudo
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq || die "apt-get update failed"
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
else
	say "Debian packages present: ${apt_packages[*]}"
fi

# --- ONNX Runtime -------------------------------------------------------------------------
lib_ok() { [[ -f "$ORT_LIB" ]] && echo "$ORT_LIB_SHA256  $ORT_LIB" | sha256sum -c --status; }
if lib_ok; then
	say "ONNX Runtime $ORT_VERSION present: $ORT_LIB"
else
	command -v npm >/dev/null || die "npm is needed to fetch onnxruntime-node@$ORT_VERSION"
	say "fetching ONNX Runtime $ORT_VERSION from the npm package onnxruntime-node (npm pack, no scripts run)"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && npm pack --silent --ignore-scripts "onnxruntime-node@$ORT_VERSION" >/dev/null) ||
		die "npm pack onnxruntime-node@$ORT_VERSION failed (is the npm registry reachable?)"
	tgz="$tmp/onnxruntime-node-$ORT_VERSION.tgz"
	[[ -f "$tgz" ]] || die "npm pack did not produce $tgz"
	echo "$ORT_TGZ_SHA256  $tgz" | sha256sum -c --status ||
		die "sha256 of onnxruntime-node-$ORT_VERSION.tgz is $(sha256sum "$tgz" | cut -d' ' -f1), expected $ORT_TGZ_SHA256"
	tar -xzf "$tgz" -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1 ||
		die "the package has no bin/napi-v6/linux/x64/libonnxruntime.so.1"
	mkdir -p "$ORT_DIR"
	cp "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$ORT_LIB.tmp"
	echo "$ORT_LIB_SHA256  $ORT_LIB.tmp" | sha256sum -c --status || {
		rm -f "$ORT_LIB.tmp"
		die "sha256 of libonnxruntime.so.1 does not match $ORT_LIB_SHA256"
	}
	mv "$ORT_LIB.tmp" "$ORT_LIB"
	say "installed $ORT_LIB"
fi

# --- Go modules and the binary ----------------------------------------------------------
say "downloading Go modules"
go mod download || die "go mod download failed"
if ((test_deps)); then
	staticcheck_version=v0.8.2
	if [[ -x .deps/bin/staticcheck ]] && .deps/bin/staticcheck -version 2>/dev/null | grep -q "${staticcheck_version#v}"; then
		say "staticcheck $staticcheck_version present: .deps/bin/staticcheck"
	else
		say "building staticcheck $staticcheck_version into .deps/bin/"
		(cd / && GOBIN="$root/.deps/bin" GOFLAGS=-mod=mod go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version") ||
			die "go install honnef.co/go/tools/cmd/staticcheck@$staticcheck_version failed"
	fi
fi
say "building bin/pgaug (OpenBLAS)"
mkdir -p bin
CGO_ENABLED=1 go build -tags openblas -o bin/.pgaug.tmp ./cli/pgaug || die "go build failed"
mv -f bin/.pgaug.tmp bin/pgaug # a rename: a bin/pgaug that is running is not disturbed
say "done"

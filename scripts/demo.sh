#!/usr/bin/env bash
# Installs what is missing, then runs `pgaug demo`: the pipeline end to end on data it makes
# itself. Extra arguments go to `pgaug demo`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
exec ./bin/pgaug demo "$@"

#!/usr/bin/env bash
# Reliability benchmark (not a test): `apply` under random faults and after SIGKILL.
# The work is in faults.py (same arguments); this is the name the issue and BENCHMARKS use.
#   bench/faults.sh [--buckets 30] [--rate 0.1] [--seeds 20] [--kills 10] [--port 5004]
set -euo pipefail
exec python3 "$(dirname "$0")/faults.py" "$@"

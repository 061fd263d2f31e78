#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: Debian packages (envs/apt.txt) and the pinned venv at .venv.
# A second run on a ready machine only checks stamps and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
command -v java >/dev/null 2>&1 || need_apt+=(default-jre-headless)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages from envs/apt.txt (missing: ${need_apt[*]})"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $(grep -v '^#' envs/apt.txt)
fi
# Opt-in: VLPEFT_SLURM=1 installs the Debian SLURM packages tests/slurm/test_slurm.py starts a throw-away
# cluster from (the test itself never installs anything; without them it skips with the reason).
if [ "${VLPEFT_SLURM:-0}" = 1 ] && ! command -v slurmctld >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  # postinst prints "policy-rc.d denied execution of start": harmless, the test starts the daemons by hand
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge
fi

PY=${PYTHON:-python3}
stamp=.venv/.vlpeft-setup
want=$(cat envs/requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r envs/requirements.txt
.venv/bin/pip install -q --disable-pip-version-check --no-deps -e .
echo "$want" > "$stamp"
echo "setup: .venv ready"

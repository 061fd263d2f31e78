#!/usr/bin/env bash
# Stop the cluster started by start_slurm.sh: cancel its jobs, then stop each daemon by its PID file
# (never by name, so nothing else on the machine is touched). Safe to run twice.
B=$(realpath -m "${SLURM_BASE:?set SLURM_BASE to a scratch folder}")
export SLURM_CONF=$B/etc/slurm.conf

stop_pid() {  # $1 = PID file: SIGTERM, wait up to 10 s, then SIGKILL
  [ -f "$1" ] || return 0
  local p
  p=$(cat "$1")
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    kill "$p"
    for _ in $(seq 1 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p"
  fi
  rm -f "$1"
}

if [ -f "$B/run/slurmctld.pid" ] && [ -f "$SLURM_CONF" ]; then
  jobs=$(timeout 10 squeue -h -o '%i' 2>/dev/null || true)
  if [ -n "$jobs" ]; then
    # shellcheck disable=SC2086
    timeout 10 scancel $jobs 2>/dev/null || true
    for _ in $(seq 1 20); do
      [ -z "$(timeout 10 squeue -h -t running,completing -o '%i' 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
fi
stop_pid "$B/run/slurmd.pid"
stop_pid "$B/run/slurmctld.pid"
MUNGE_DIR=/run/vlpeft-munge-$(printf %s "$B" | md5sum | cut -c1-12)   # as in start_slurm.sh
stop_pid "$MUNGE_DIR/munged.pid"
rm -rf "$MUNGE_DIR"
# the default-path symlink written by start_slurm.sh, only if it still points at this cluster
[ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$SLURM_CONF" ] && rm -f /etc/slurm/slurm.conf
exit 0

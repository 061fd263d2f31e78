#!/usr/bin/env bash
# Start a throw-away single-node SLURM cluster for tests: munged + slurmctld + slurmd on loopback,
# no accounting (so Snakemake must poll with `squeue`; see profiles/slurm/config.yaml).
# Debian 12 packages (slurm 22.05), run as root without systemd or cgroups.
#
# Config, state, logs and PID files live under $SLURM_BASE (munge's socket under /run). Clients
# find the config through  export SLURM_CONF=$SLURM_BASE/etc/slurm.conf  and, because the Snakemake
# jobstep plugin (0.6.1) strips SLURM_CONF before its nested `srun`, also through a symlink at the
# default path /etc/slurm/slurm.conf (created here, removed by stop_slurm.sh; a real file there is
# never replaced: the script stops instead).
#
# Environment:
#   SLURM_BASE      scratch folder (required)
#   (the Debian packages must be installed: VLPEFT_SLURM=1 envs/setup.sh; this script installs nothing)
#   SLURMCTLD_PORT  default 6817;  SLURMD_PORT  default 6818
#   SLURM_WAIT_S    seconds to wait for the node to become idle (default 60)
# Stop with stop_slurm.sh (by PID file only).
set -euo pipefail
B=$(realpath -m "${SLURM_BASE:?set SLURM_BASE to a scratch folder}")
CTLD_PORT=${SLURMCTLD_PORT:-6817}
SLURMD_PORT=${SLURMD_PORT:-6818}
WAIT_S=${SLURM_WAIT_S:-60}
export SLURM_CONF=$B/etc/slurm.conf

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  echo "slurm is not installed: VLPEFT_SLURM=1 envs/setup.sh installs it" >&2
  exit 2
fi

DEFAULT_CONF=/etc/slurm/slurm.conf
if [ -e "$DEFAULT_CONF" ] && [ ! -L "$DEFAULT_CONF" ]; then
  echo "$DEFAULT_CONF is a real file (a configured SLURM host?); not replacing it" >&2
  exit 2
fi
mkdir -p "$B"/{etc,state,spool,run,log} /etc/slurm
rm -rf "$B"/state/* "$B"/spool/* "$B"/log/*   # stale state would resurrect old jobs
# munged runs as the munge user, which cannot enter a root-only scratch folder (pytest's are 0700),
# and a socket path must stay short: so its files live in /run/vlpeft-munge-<hash of $B>
MUNGE_DIR=/run/vlpeft-munge-$(printf %s "$B" | md5sum | cut -c1-12)
mkdir -p "$MUNGE_DIR" && chown munge:munge "$MUNGE_DIR" && chmod 755 "$MUNGE_DIR"
SOCK=$MUNGE_DIR/munge.sock

NCPU=$(nproc)
# RealMemory must not exceed what slurmd detects: 90% of MemTotal
MEM_MB=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
cat >"$SLURM_CONF" <<CONF
# Single-node Slurm 22.05 cluster for tests (written by tests/slurm/start_slurm.sh)
ClusterName=vlpeft-test
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
StateSaveLocation=$B/state
SlurmdSpoolDir=$B/spool
SlurmctldPidFile=$B/run/slurmctld.pid
SlurmdPidFile=$B/run/slurmd.pid
SlurmctldLogFile=$B/log/slurmctld.log
SlurmdLogFile=$B/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
# finished jobs stay visible to squeue for MinJobAge seconds; the Snakemake plugin needs
# MinJobAge >= 3 * slurm-init-seconds-before-status-checks, or it falls back to sacct (fails here)
MinJobAge=300
KillWait=5
InactiveLimit=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
ln -sfn "$SLURM_CONF" "$DEFAULT_CONF"

# munged must run as the munge user; its key is /etc/munge/munge.key, made by the package's postinst
runuser -u munge -- /usr/sbin/munged --socket="$SOCK" --pid-file="$MUNGE_DIR/munged.pid" \
  --log-file="$MUNGE_DIR/munged.log" --seed-file="$MUNGE_DIR/munged.seed"
munge -n -S "$SOCK" | unmunge -S "$SOCK" >/dev/null

slurmctld -i          # daemonizes, writes $B/run/slurmctld.pid
slurmd -N localhost   # daemonizes, writes $B/run/slurmd.pid
for _ in $(seq 1 "$WAIT_S"); do
  if sinfo -h -o '%t' 2>/dev/null | grep -qx idle; then
    sinfo
    exit 0
  fi
  sleep 1
done
echo "node did not become idle within ${WAIT_S}s; logs:" >&2
tail -n 20 "$B"/log/*.log >&2 || true
exit 1

#!/usr/bin/env bash
# A real single-node SLURM on this machine, for development and CI.
#
#   scripts/slurm-dev-cluster.sh start    install munge + slurmctld + slurmd (Debian) if missing, write a
#                                         slurm.conf for this host on loopback, start the daemons without
#                                         systemd, wait until the node is idle
#   scripts/slurm-dev-cluster.sh stop     stop only the daemons this script started
#   scripts/slurm-dev-cluster.sh status   sinfo / squeue
#   scripts/slurm-dev-cluster.sh env      print the export line clients need (SLURM_CONF)
#
# Everything lives under $SLURM_DEV_DIR (default /tmp/autocnet-slurm). Clients (sbatch, squeue, and the
# autocnet slurm backend) find it through SLURM_CONF=$SLURM_DEV_DIR/slurm.conf; nothing in /etc is touched.
# Needs root (daemons, apt). Tunables: SLURM_DEV_MAX_ARRAY (MaxArraySize, default 1001).
set -euo pipefail

DIR="${SLURM_DEV_DIR:-/tmp/autocnet-slurm}"
CONF="$DIR/slurm.conf"
HOST="$(hostname -s)"
MUNGE_SOCKET="$DIR/munge/munge.socket.2"
export SLURM_CONF="$CONF"

say() { echo "slurm-dev-cluster: $*" >&2; }
# A pid file's process is alive: it exists, is not a zombie (kill -0 succeeds on zombies, and a container
# may never reap them) and is the daemon named (pids get reused).
alive() { # pidfile, name
  [[ -f "$1" ]] || return 1
  local pid state comm
  pid="$(cat "$1")"
  [[ -r "/proc/$pid/stat" ]] || return 1
  state="$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)"
  comm="$(cat "/proc/$pid/comm" 2>/dev/null)"
  [[ "$state" != "Z" && "$comm" == "$2"* ]]
}

install_packages() {
  local missing=()
  for bin in munged mungekey slurmctld slurmd sbatch; do command -v "$bin" >/dev/null 2>&1 || missing+=("$bin"); done
  if (( ${#missing[@]} > 0 )); then
    say "installing munge slurmctld slurmd slurm-client (missing: ${missing[*]})"
    apt-get update -qq
    # their postinst scripts try to start services through systemd; refusing that is harmless here
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 munge slurmctld slurmd slurm-client >/dev/null
  fi
}

write_conf() {
  local cpus mem
  cpus="$(nproc)"
  mem="$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.8 }' /proc/meminfo)"
  mkdir -p "$DIR"/{state,spool,log,munge,run}
  chmod 755 "$DIR" "$DIR/spool"
  cat > "$CONF" <<CONF
# written by scripts/slurm-dev-cluster.sh for a single-node development cluster
ClusterName=autocnet-dev
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MaxArraySize=${SLURM_DEV_MAX_ARRAY:-1001}
MaxJobCount=100000
MinJobAge=300
KillWait=2
OverTimeLimit=0
ReturnToService=2
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
CONF
}

start_munge() {
  if alive "$DIR/munge/munged.pid" munged; then return; fi
  rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"  # left by a munged that was killed
  chown munge:munge "$DIR/munge"
  chmod 755 "$DIR/munge"
  if [[ ! -f "$DIR/munge/munge.key" ]]; then
    runuser -u munge -- mungekey --create --keyfile="$DIR/munge/munge.key"
    chmod 600 "$DIR/munge/munge.key"
  fi
  # munged refuses to run as root; it runs as the munge user
  runuser -u munge -- munged --key-file="$DIR/munge/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed"
}

wait_for() { # seconds, description, command...
  local deadline=$((SECONDS + $1)) what="$2"; shift 2
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS > deadline )); then say "timed out waiting for $what"; return 1; fi
    sleep 0.2
  done
}

node_ready() {
  [[ "$(sinfo -h -n "$HOST" -o %T 2>/dev/null | tr -d '*~#')" =~ ^(idle|mixed|allocated)$ ]] &&
    ! scontrol show node "$HOST" 2>/dev/null | grep -q "SlurmdStartTime=None"
}

start() {
  [[ $EUID -eq 0 ]] || { say "must run as root (it starts daemons and may apt-get install)"; exit 1; }
  install_packages
  [[ -f "$CONF" ]] || write_conf
  start_munge
  wait_for 10 "munged" test -S "$MUNGE_SOCKET"
  if ! alive "$DIR/run/slurmctld.pid" slurmctld; then
    slurmctld -c -f "$CONF"   # -c: a dev cluster starts with no leftover jobs
  fi
  wait_for 20 "slurmctld to answer" scontrol ping
  alive "$DIR/run/slurmctld.pid" slurmctld || { say "slurmctld died; see $DIR/log/slurmctld.log"; tail -5 "$DIR/log/slurmctld.log" >&2; exit 1; }
  if ! alive "$DIR/run/slurmd.pid" slurmd; then
    slurmd -f "$CONF"
  fi
  wait_for 30 "node $HOST to be idle" node_ready || { tail -5 "$DIR/log/slurmd.log" >&2; exit 1; }
  scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
  say "up: node $HOST idle, partition debug; clients need: export SLURM_CONF=$CONF"
}

stop_pid() { # pidfile, name
  alive "$1" "$2" || return 0
  local pid; pid="$(cat "$1")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  say "$2 ignored SIGTERM; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

stop() {
  # slurmd may ignore SIGTERM while the controller is down: stop it first
  stop_pid "$DIR/run/slurmd.pid" slurmd
  stop_pid "$DIR/run/slurmctld.pid" slurmctld
  stop_pid "$DIR/munge/munged.pid" munged
  say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) sinfo; squeue ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac

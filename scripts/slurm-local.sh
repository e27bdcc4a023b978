#!/usr/bin/env bash
# A real one-node Slurm for the test suite and for trying `solvable sweep slurm` on one machine.
#
#   scripts/slurm-local.sh up      install slurm-wlm + munge when missing (Debian), write a one-node slurm.conf with
#                                  this node's real CPUs and memory (`slurmd -C`), one partition, select/cons_tres,
#                                  MaxArraySize; start munged, slurmctld and slurmd (as root) in a private state
#                                  directory; wait until `sinfo` shows the node idle. Prints `export SLURM_CONF=...`.
#   scripts/slurm-local.sh down    stop exactly the daemons `up` started (by their recorded PIDs).
#   scripts/slurm-local.sh status  exit 0 when the daemons `up` started are running.
#
# State directory: $SOLVABLE_SLURM_DIR (default /tmp/solvable-slurm). Clients need SLURM_CONF=$DIR/slurm.conf.
# Exit status: 0 ok; 3 Slurm cannot be installed or started here (not root and missing packages, no apt);
# 1 other failures (the daemons' logs are in the state directory).
set -euo pipefail

DIR=${SOLVABLE_SLURM_DIR:-/tmp/solvable-slurm}
CONF="$DIR/slurm.conf"
CTLD_PORT=${SOLVABLE_SLURM_PORT:-16817}
SLURMD_PORT=$((CTLD_PORT + 1))
MAX_ARRAY=${SOLVABLE_SLURM_MAX_ARRAY:-1001}
export SLURM_CONF="$CONF"

alive() { [ -f "$DIR/$1.pid" ] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

install_missing() {
    local missing=""
    for c in slurmctld:slurm-wlm slurmd:slurm-wlm sbatch:slurm-client munged:munge; do
        command -v "${c%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${c%%:*}" ] || missing="$missing ${c##*:}"
    done
    [ -z "$missing" ] && return 0
    missing="slurm-wlm munge"
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "slurm-local: Slurm is not installed and cannot be installed here (needs root and apt-get: apt-get install$missing)" >&2
        exit 3
    fi
    echo "slurm-local: installing Debian packages: $missing" >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null; }; then
        echo "slurm-local: apt-get install$missing failed; Slurm cannot be installed here" >&2
        exit 3
    fi
}

wait_idle() {
    local i
    for i in $(seq 1 120); do
        if sinfo -h -o '%t' 2>/dev/null | grep -qx 'idle'; then return 0; fi
        # a node left DOWN by an earlier unclean stop is returned to service
        if [ "$i" = 10 ]; then scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true; fi
        sleep 0.5
    done
    echo "slurm-local: the node did not become idle within 60 s; sinfo says: $(sinfo -h 2>&1 | head -3)" >&2
    echo "slurm-local: logs: $DIR/slurmctld.log $DIR/slurmd.log" >&2
    return 1
}

# Runs a daemon in the background holding none of the caller's file descriptors above 2 (a caller that reads this
# script's output through a pipe would otherwise wait for the daemons to exit), with stdin from /dev/null.
spawn() {
    local log=$1; shift
    (
        for fd in $(ls "/proc/$BASHPID/fd"); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
        exec setsid "$@" < /dev/null >>"$log" 2>&1
    ) &
}

up() {
    if alive munged && alive slurmctld && alive slurmd; then
        NODE=$(cat "$DIR/node")
        wait_idle
        echo "slurm-local: already up"
        echo "export SLURM_CONF=$CONF"
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "slurm-local: the daemons run as root here (SlurmUser=root); run as root" >&2
        exit 3
    fi
    install_missing
    # stop whatever half of an earlier run is left (only our own recorded daemons)
    down >/dev/null 2>&1 || true
    mkdir -p "$DIR"
    chmod 700 "$DIR"
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/munge"
    chmod 700 "$DIR/munge"
    NODE=$(hostname -s)
    echo "$NODE" > "$DIR/node"
    # this machine's real hardware line (CPUs, sockets, cores, threads, RealMemory)
    local hw
    hw=$(/usr/sbin/slurmd -C | head -1 | sed -e "s/^NodeName=[^ ]* //")
    [ -f "$DIR/munge/munge.key" ] || { dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none; chmod 400 "$DIR/munge/munge.key"; }
    cat > "$CONF" <<EOF
# written by scripts/slurm-local.sh: one node, one partition, state in $DIR
ClusterName=solvable-local
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.daemon.pid
SlurmdPidFile=$DIR/slurmd.daemon.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MaxArraySize=$MAX_ARRAY
ReturnToService=2
KillWait=2
MinJobAge=300
InactiveLimit=0
MpiDefault=none
SwitchType=switch/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$NODE NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=local Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    spawn "$DIR/munge/munged.out" /usr/sbin/munged --force --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge/munge.key" \
        --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed" --foreground
    echo $! > "$DIR/munged.pid"
    for _ in $(seq 1 50); do [ -S "$DIR/munge/munge.socket" ] && break; sleep 0.1; done
    [ -S "$DIR/munge/munge.socket" ] || { echo "slurm-local: munged did not start: $(tail -3 "$DIR/munge/munged.log" 2>/dev/null)" >&2; down; return 1; }
    spawn "$DIR/slurmctld.out" /usr/sbin/slurmctld -D -c -f "$CONF"
    echo $! > "$DIR/slurmctld.pid"
    for _ in $(seq 1 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.1; done
    spawn "$DIR/slurmd.out" /usr/sbin/slurmd -D -f "$CONF"
    echo $! > "$DIR/slurmd.pid"
    if ! wait_idle; then down; return 1; fi
    echo "slurm-local: up (node $NODE: $hw; partition local; MaxArraySize=$MAX_ARRAY)"
    echo "export SLURM_CONF=$CONF"
}

down() {
    local d pid
    # slurmd first (it kills its jobs' steps), then the controller, then munge
    for d in slurmd slurmctld munged; do
        [ -f "$DIR/$d.pid" ] || continue
        pid=$(cat "$DIR/$d.pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$DIR/$d.pid"
    done
    echo "slurm-local: down"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) alive munged && alive slurmctld && alive slurmd ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac

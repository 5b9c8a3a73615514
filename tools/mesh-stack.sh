#!/usr/bin/env bash
# Starts and stops the simulated mesh (meshsim) and a Prometheus scraping it, for the demo and
# the integration tests.
#
#   tools/mesh-stack.sh start DIR [--meshsim PATH] [--scrape-interval 1s] [--prometheus-port N]
#                                 [--topology FILE] [--mesh linkerd|istio] [--address-base IP]
#                                 [--port N] [--timeout SECONDS] [--second-job NAME]
#   tools/mesh-stack.sh stop DIR
#
# start: runs meshsim (binary from --meshsim or $MESHSIM; nothing is built here), which writes
# DIR/prometheus.yml, DIR/topology.json and DIR/kube-objects.json, then /usr/bin/prometheus on
# 127.0.0.1:PORT (a free port unless given) with its TSDB in DIR/prom-data (wiped first). Returns
# once Prometheus is ready, every target of the scrape job (linkerd-proxy, or kubernetes-pods
# for istio) is up and every target has been scraped at least 3 times.
# Writes DIR/meshsim.pid, DIR/prometheus.pid, DIR/prometheus.url; logs to DIR/meshsim.log and
# DIR/prometheus.log. On failure it prints the tail of the logs, stops what it started, exits 1.
# --second-job NAME: Prometheus scrapes every proxy a second time, in a job of that name (as a
# PodMonitor beside the annotation-driven job would), so every series exists twice.
# stop: SIGTERM to what start launched (SIGKILL after 10 s), removes the pid files.
set -euo pipefail

PROMETHEUS_BIN=${PROMETHEUS_BIN:-/usr/bin/prometheus}

die() {
  echo "mesh-stack: $*" >&2
  exit 1
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# True while the process in pid file $1 is alive.
alive() {
  [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

stop_pidfile() {
  local pidfile=$1 pid
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "mesh-stack: $(basename "$pidfile" .pid) (pid $pid) ignored SIGTERM, killing" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

cmd_stop() {
  local dir=$1
  [[ -d $dir ]] || die "no such directory: $dir"
  # Prometheus first, so it does not log scrape failures of a vanished mesh.
  stop_pidfile "$dir/prometheus.pid"
  stop_pidfile "$dir/meshsim.pid"
  echo "mesh-stack: stopped ($dir)"
}

# Ports below the kernel's ephemeral range (32768 and up), so an outgoing connection's local port
# cannot take the chosen port between the check and the bind; any socket on it counts as in use.
port_in_use() {
  ss -Htan "( sport = :$1 )" | grep -q . || (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
  local port
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 12000))
    if ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  done
  die "no free port found for Prometheus"
}

# Prints the first sample value of an instant query, or nothing.
query_value() {
  local url=$1 expr=$2
  curl -fsS --max-time 2 --get --data-urlencode "query=$expr" "$url/api/v1/query" 2>/dev/null |
    sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p' | head -n1
}

fail_start() {
  local dir=$1
  shift
  # Stop first: if our caller stops reading (e.g. piped into head), we die on SIGPIPE while
  # printing, and must not leave processes behind.
  cmd_stop "$dir" >/dev/null 2>&1 || true
  echo "mesh-stack: start failed: $*" >&2
  for log in meshsim.log prometheus.log; do
    if [[ -f $dir/$log ]]; then
      echo "---- tail of $dir/$log ----" >&2
      tail -n 25 "$dir/$log" >&2
    fi
  done
  exit 1
}

cmd_start() {
  local dir=$1
  shift
  local meshsim=${MESHSIM:-} interval=1s prom_port="" timeout="" second_job=""
  local meshsim_args=()
  while (($#)); do
    case $1 in
      --meshsim) meshsim=$2; shift 2 ;;
      --scrape-interval) interval=$2; shift 2 ;;
      --prometheus-port) prom_port=$2; shift 2 ;;
      --timeout) timeout=$2; shift 2 ;;
      --second-job) second_job=$2; shift 2 ;;
      --topology | --mesh | --address-base | --port) meshsim_args+=("$1" "$2"); shift 2 ;;
      *) echo "mesh-stack: unknown option '$1'" >&2; usage ;;
    esac
  done
  if [[ -z $timeout ]]; then
    # Room for start-up plus a few scrapes: 3 are awaited.
    case $interval in
      *ms) timeout=60 ;;
      *s) timeout=$((60 + 5 * ${interval%s})) ;;
      *m) timeout=$((60 + 300 * ${interval%m})) ;;
      *) timeout=60 ;;
    esac
  fi
  [[ -n $meshsim ]] || die "set MESHSIM or pass --meshsim PATH (the built meshsim binary)"
  [[ -x $meshsim ]] || die "meshsim binary not executable: $meshsim"
  [[ -x $PROMETHEUS_BIN ]] || die "prometheus not found at $PROMETHEUS_BIN (apt-get install prometheus)"
  command -v curl >/dev/null || die "curl not found (apt-get install curl)"

  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if alive "$dir/meshsim.pid" || alive "$dir/prometheus.pid"; then
    die "a stack is already running in $dir; run: $0 stop $dir"
  fi
  rm -rf "$dir/prom-data" "$dir/prometheus.url" "$dir/kube-objects.json" "$dir/meshsim.pid" "$dir/prometheus.pid"
  # Truncate the logs here, not in the background job's redirection: that one may run after we
  # first grep for "meshsim: ready" and would let a previous run's log answer.
  : >"$dir/meshsim.log"
  : >"$dir/prometheus.log"

  # Background jobs of a script get stdin from /dev/null and must not hold the caller's
  # stdout open (a caller reading our output would otherwise never see EOF).
  "$meshsim" --write-prometheus-config "$dir/prometheus.yml" --write-topology "$dir/topology.json" \
    --write-kube-objects "$dir/kube-objects.json" --scrape-interval "$interval" \
    "${meshsim_args[@]}" </dev/null >>"$dir/meshsim.log" 2>&1 &
  echo $! >"$dir/meshsim.pid"

  local deadline=$((SECONDS + timeout))
  until grep -q '^meshsim: ready' "$dir/meshsim.log" 2>/dev/null; do
    alive "$dir/meshsim.pid" || fail_start "$dir" "meshsim exited"
    ((SECONDS < deadline)) || fail_start "$dir" "meshsim not ready after ${timeout}s"
    sleep 0.1
  done
  local targets job
  targets=$(grep -c "targets: \['" "$dir/prometheus.yml")
  job=$(sed -n 's/^  - job_name: *//p' "$dir/prometheus.yml" | head -n1)
  [[ -n $job ]] || fail_start "$dir" "no job_name in $dir/prometheus.yml"
  if [[ -n $second_job ]]; then
    # The scrape job again under another name: the same targets, labels and path.
    awk -v job="$second_job" '
      { print }
      copying { block = block $0 "\n" }
      /^scrape_configs:/ { copying = 1 }
      END { sub(/job_name: [-a-zA-Z0-9_]+/, "job_name: " job, block); printf "%s", block }' \
      "$dir/prometheus.yml" >"$dir/prometheus.yml.new" || fail_start "$dir" "cannot add job $second_job"
    mv "$dir/prometheus.yml.new" "$dir/prometheus.yml"
  fi

  [[ -n $prom_port ]] || prom_port=$(free_port)
  port_in_use "$prom_port" && fail_start "$dir" "port $prom_port is already in use"
  local url="http://127.0.0.1:$prom_port"
  "$PROMETHEUS_BIN" --config.file "$dir/prometheus.yml" --storage.tsdb.path "$dir/prom-data" \
    --web.listen-address "127.0.0.1:$prom_port" </dev/null >>"$dir/prometheus.log" 2>&1 &
  echo $! >"$dir/prometheus.pid"
  echo "$url" >"$dir/prometheus.url"

  until curl -fsS --max-time 2 "$url/-/ready" >/dev/null 2>&1; do
    alive "$dir/prometheus.pid" || fail_start "$dir" "prometheus exited"
    ((SECONDS < deadline)) || fail_start "$dir" "prometheus not ready at $url after ${timeout}s"
    sleep 0.2
  done

  # Every target up, and each scraped at least 3 times (so increase()/irate() have data).
  local up scrapes
  while :; do
    alive "$dir/meshsim.pid" || fail_start "$dir" "meshsim exited"
    alive "$dir/prometheus.pid" || fail_start "$dir" "prometheus exited"
    up=$(query_value "$url" "count(up{job=\"$job\"} == 1)")
    scrapes=$(query_value "$url" "min(count_over_time(up{job=\"$job\"}[1h]))")
    if [[ ${up:-0} == "$targets" && ${scrapes:-0} -ge 3 ]]; then
      break
    fi
    if ((SECONDS >= deadline)); then
      curl -fsS --max-time 2 "$url/api/v1/targets" 2>/dev/null |
        grep -o '"scrapeUrl":"[^"]*"\|"health":"[^"]*"\|"lastError":"[^"]*"' | paste - - - >&2 || true
      fail_start "$dir" "after ${timeout}s: ${up:-0}/$targets targets up, min scrapes ${scrapes:-0} (want 3)"
    fi
    sleep 0.5
  done
  echo "mesh-stack: ready: $targets targets of job $job up at $url (dir $dir)"
}

(($# >= 2)) || usage
case $1 in
  start) shift; cmd_start "$@" ;;
  stop) cmd_stop "$2" ;;
  *) usage ;;
esac

# Sourced by bench/ingest_bench.sh: start / stop a private ClickHouse (Debian 12's 18.16) on
# loopback, as a child process with its own config and data directory — no systemd, no
# /etc/clickhouse-server, nothing outside $CH_DIR.

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# ch_start DIR: writes a config into DIR, starts clickhouse-server, waits for /ping.
# Sets CH_PID, CH_HTTP (base URL).
ch_start() {
  CH_DIR=$1
  mkdir -p "$CH_DIR/data/" "$CH_DIR/tmp/" "$CH_DIR/user_files/" "$CH_DIR/log"
  local http_port tcp_port
  http_port=$(free_port); tcp_port=$(free_port)
  cat > "$CH_DIR/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$CH_DIR/log/server.log</log><errorlog>$CH_DIR/log/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$http_port</http_port>
  <tcp_port>$tcp_port</tcp_port>
  <interserver_http_port>$(free_port)</interserver_http_port>
  <max_connections>256</max_connections>
  <keep_alive_timeout>30</keep_alive_timeout>
  <max_concurrent_queries>200</max_concurrent_queries>
  <uncompressed_cache_size>1073741824</uncompressed_cache_size>
  <mark_cache_size>1073741824</mark_cache_size>
  <path>$CH_DIR/data/</path>
  <tmp_path>$CH_DIR/tmp/</tmp_path>
  <user_files_path>$CH_DIR/user_files/</user_files_path>
  <users_config>$CH_DIR/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <compression incl="clickhouse_compression">
    <case><method>zstd</method></case>
  </compression>
</yandex>
XML
  cat > "$CH_DIR/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>8000000000</max_memory_usage><log_queries>0</log_queries></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
  (cd "$CH_DIR" && exec clickhouse-server --config-file="$CH_DIR/config.xml" >"$CH_DIR/log/stdout.log" 2>&1) &
  CH_PID=$!
  CH_HTTP="http://127.0.0.1:$http_port"
  for _ in $(seq 1 120); do
    if curl -sf "$CH_HTTP/ping" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$CH_PID" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "clickhouse did not start; see $CH_DIR/log" >&2
  tail -20 "$CH_DIR/log/error.log" "$CH_DIR/log/stdout.log" >&2 2>/dev/null
  return 1
}

# ch_query SQL: runs SQL over HTTP, prints the answer.
ch_query() { curl -sS --fail-with-body "$CH_HTTP/" --data-binary "$1"; }

ch_stop() {
  if [[ -n ${CH_PID:-} ]] && kill -0 "$CH_PID" 2>/dev/null; then
    kill -TERM "$CH_PID"
    for _ in $(seq 1 60); do kill -0 "$CH_PID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$CH_PID" 2>/dev/null && kill -KILL "$CH_PID"
  fi
  CH_PID=
}

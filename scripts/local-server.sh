# Sourced by load.sh and soak.sh: starts `$gavel serve` on a free loopback port with a fresh
# data folder, sets `data`, `port` and `server` (its pid), stops it and removes the folder on
# exit, and returns once it answers /healthz.
data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
RUST_LOG=warn "$gavel" serve --addr "127.0.0.1:$port" --data "$data" >"$data/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT

for _ in $(seq 1 100); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null; then
    break
  fi
  sleep 0.1
done

#!/bin/sh
# tandem-upstream-switch.sh: keep nginx's Tandem upstream pointed at the
# active site. Every INTERVAL seconds it asks every member of every site for
# GET /health/active (200 only on the active site) and, when the set of
# members answering 200 changes, rewrites UPSTREAM_FILE with them, checks the
# configuration (nginx -t) and reloads nginx.
#
# Open-source nginx has no active health checks; this script is the missing
# piece. If no member answers 200 (no site active, e.g. in the middle of a
# forced failover, or the script's own network is cut) the file is left as
# it is and the script says so: it never empties the upstream.
#
# Usage: tandem-upstream-switch.sh [--once]
#   --once   one round, then exit (0: file up to date, 1: no active member)
# Environment:
#   TANDEM_MEMBERS   members, host:port separated by spaces (required)
#                    e.g. "tandem-a1:4440 tandem-a2:4440 tandem-b1:4440 tandem-b2:4440"
#                    (IP addresses are safer: nginx refuses a reload when a
#                    name in the upstream does not resolve)
#   UPSTREAM_FILE    default /etc/nginx/tandem/upstream-active.conf
#   INTERVAL         seconds between rounds, default 1
#   CHECK_TIMEOUT    seconds per health request, default 1
#   SERVER_PARAMS    appended to each server line, default "max_fails=1 fail_timeout=2s"
#   NGINX_TEST       default "nginx -t -q"
#   NGINX_RELOAD     default "nginx -s reload"
#   SCHEME           http or https (members' own TLS), default http
# Example:
#   TANDEM_MEMBERS="10.0.1.11:4440 10.0.1.12:4440 10.0.2.11:4440 10.0.2.12:4440" \
#     tandem-upstream-switch.sh --once
set -u

UPSTREAM_FILE=${UPSTREAM_FILE:-/etc/nginx/tandem/upstream-active.conf}
INTERVAL=${INTERVAL:-1}
CHECK_TIMEOUT=${CHECK_TIMEOUT:-1}
SERVER_PARAMS=${SERVER_PARAMS:-max_fails=1 fail_timeout=2s}
NGINX_TEST=${NGINX_TEST:-nginx -t -q}
NGINX_RELOAD=${NGINX_RELOAD:-nginx -s reload}
SCHEME=${SCHEME:-http}

once=0
case "${1:-}" in
  --once) once=1 ;;
  -h|--help) sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "tandem-upstream-switch: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

: "${TANDEM_MEMBERS:?set TANDEM_MEMBERS to the members host:port list}"

say() { echo "tandem-upstream-switch: $*" >&2; }

# The server lines for the members answering 200 right now, in the order given.
active_lines() {
  for m in $TANDEM_MEMBERS; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time "$CHECK_TIMEOUT" "$SCHEME://$m/health/active") || code=000
    [ "$code" = 200 ] && echo "server $m $SERVER_PARAMS;"
  done
}

round() {
  lines=$(active_lines)
  if [ -z "$lines" ]; then
    say "no member answers 200 on /health/active; keeping $UPSTREAM_FILE as it is"
    return 1
  fi
  current=$(grep '^server ' "$UPSTREAM_FILE" 2>/dev/null || true)
  [ "$lines" = "$current" ] && return 0
  tmp="$UPSTREAM_FILE.tmp.$$"
  {
    echo "# Written by tandem-upstream-switch.sh at $(date -u +%Y-%m-%dT%H:%M:%SZ): members answering 200 on /health/active."
    echo "$lines"
  } > "$tmp" || { say "cannot write $tmp"; return 1; }
  old="$UPSTREAM_FILE.previous"
  [ -f "$UPSTREAM_FILE" ] && cp "$UPSTREAM_FILE" "$old"
  mv "$tmp" "$UPSTREAM_FILE"
  if ! $NGINX_TEST; then
    say "nginx -t refused the new upstream; restoring the previous file"
    [ -f "$old" ] && mv "$old" "$UPSTREAM_FILE"
    return 1
  fi
  if ! $NGINX_RELOAD; then
    say "nginx reload failed"
    return 1
  fi
  say "active members now: $(echo "$lines" | awk '{print $2}' | tr '\n' ' ')"
  return 0
}

if [ "$once" = 1 ]; then
  round
  exit $?
fi
say "watching $TANDEM_MEMBERS every ${INTERVAL}s"
while :; do
  round || true
  sleep "$INTERVAL"
done

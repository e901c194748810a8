#!/usr/bin/env bash
# The Debian packages libreta-server and libreta, made by CPack from build/ (configured and
# built by scripts/test.sh) into build/packages/, then checked:
#   1. each package's files are exactly the expected ones (no header, no library), its
#      control fields name every shared library its program needs, the server's conffile and
#      maintainer scripts; the man pages render; the programs run from the extracted tree;
#      the systemd unit passes `systemd-analyze verify` and its exposure stays low;
#   2. a real installation on this machine: dpkg -i, the system user libreta, the enabled
#      unit, the packaged configuration checked, the server run as the unit runs it (user
#      libreta, --config /etc/libreta/libreta-server.toml, on a loopback port) until /healthz
#      answers; as that user, a token made, a seller's device synced through it with the
#      packaged libreta, a backup and a restore; SIGHUP reloads, SIGTERM stops cleanly;
#      dpkg -r keeps the configuration and the database, a reinstallation finds them;
#      dpkg --purge leaves the machine clean (the user libreta stays, as Debian keeps system
#      users).
# systemd need not run (a container or a CI machine): the maintainer scripts then only enable
# the unit, and this script runs the server itself, as the unit would.
#
#   scripts/package.sh     (as root, on a disposable Debian 12 machine: it installs and
#                           purges the packages, and purges any earlier installation first)
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD
build_dir=$root_dir/build
package_dir=$build_dir/packages
started=$(date +%s)

fail() {
  echo "package.sh: FAILED: $*" >&2
  exit 1
}
step() { echo "== $*"; }
# grep -q at the end of a pipeline, reading all its input: grep -q stops at the first match,
# and the command writing to it may then die of SIGPIPE, which pipefail counts as a failure.
has() { grep "$@" >/dev/null; }

[ "$(id -u)" -eq 0 ] || fail "run as root: the check installs and purges the packages"
[ -f "$build_dir/CMakeCache.txt" ] || fail "build/ is not configured: run scripts/test.sh first"

# ---- Tools --------------------------------------------------------------------------------
# dpkg-shlibdeps (dpkg-dev) computes Depends; systemd-analyze checks the unit, man (man-db)
# finds the page its Documentation= names; groff renders the man pages; curl asks /healthz;
# systemd-nspawn boots the container of part 3.
tools=(dpkg-dev systemd systemd-sysv systemd-container man-db groff-base adduser curl binutils)
missing=()
for p in "${tools[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | has "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/libreta-package.XXXXXX)
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  # The container's overlay (part 3) is unmounted first: nothing is deleted through it.
  local mount
  for mount in "$work/container/root" "$work/container"; do
    if mountpoint -q "$mount"; then
      umount "$mount" || { echo "package.sh: cannot unmount $mount; $work left" >&2; return; }
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

# ---- Build the packages -------------------------------------------------------------------
# The two programs are built already (scripts/test.sh); this only makes sure they are
# current, so that a package never holds an older program.
step "building libreta-server and libreta"
cmake --build "$build_dir" -j2 --target libreta-server libreta >"$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; fail "the build of libreta-server and libreta failed"; }

step "cpack -G DEB"
rm -rf "$package_dir"
(cd "$build_dir" && cpack -G DEB) >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log" >&2; fail "cpack -G DEB failed"; }

find_package() {
  local matches=("$package_dir/$1"_*.deb)
  [ ${#matches[@]} -eq 1 ] && [ -f "${matches[0]}" ] ||
    fail "expected one $1_*.deb in $package_dir, found: ${matches[*]}"
  echo "${matches[0]}"
}
server_deb=$(find_package libreta-server)
cli_deb=$(find_package libreta)

# ---- 1. Static checks -----------------------------------------------------------------------
# The regular files of a package, one path a line without the leading "./", sorted.
package_files() {
  dpkg-deb -c "$1" | awk '$1 !~ /^d/ { sub(/^\.\//, "", $6); print $6 }' | sort
}

check_files() {  # check_files DEB EXPECTED_PATH...
  local deb=$1
  shift
  local expected actual
  expected=$(printf '%s\n' "$@" | sort)
  actual=$(package_files "$deb")
  if [ "$actual" != "$expected" ]; then
    diff <(echo "$expected") <(echo "$actual") >&2 || true
    fail "$(basename "$deb") does not hold exactly the expected files (- expected, + found)"
  fi
  if echo "$actual" | grep -E '\.(h|hpp|a|so)$|\.so\.|/include/|/pkgconfig/|/cmake/' >&2; then
    fail "$(basename "$deb") holds development files (above)"
  fi
  # Everything root's; programs 0755, the rest 0644.
  dpkg-deb -c "$deb" | awk '$1 !~ /^d/ && $2 != "root/root" { print; bad = 1 } END { exit bad }' ||
    fail "$(basename "$deb") holds files not owned by root/root (above)"
  dpkg-deb -c "$deb" | awk '$1 ~ /^-/ {
      want = ($6 ~ /^\.\/usr\/bin\//) ? "-rwxr-xr-x" : "-rw-r--r--"
      if ($1 != want) { print "mode " $1 ", want " want ": " $6; bad = 1 } }
      END { exit bad }' || fail "$(basename "$deb") has files with the wrong mode (above)"
}

# The Debian packages that hold the shared libraries an ELF program needs (its NEEDED
# entries, resolved as the dynamic loader resolves them on this machine).
library_packages() {
  local program=$1 soname path pkg
  for soname in $(readelf -d "$program" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    # "libfoo.so.1 => /path (address)", or "/path (address)" for the dynamic loader.
    path=$(ldd "$program" | awk -v so="$soname" '
      $1 == so && $3 ~ /^\// { print $3; exit }
      $1 ~ /^\// && substr($1, length($1) - length(so)) == "/" so { print $1; exit }')
    [ -n "$path" ] || fail "$program needs $soname, which ldd does not find"
    # Debian 12 has merged /usr: dpkg knows a library by the path its package ships.
    pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "/usr$path" 2>/dev/null ||
      dpkg -S "${path#/usr}" 2>/dev/null) || fail "no package holds $path ($soname)"
    echo "${pkg%%:*}"
  done | sort -u
}

check_depends() {  # check_depends DEB PROGRAM_IN_EXTRACTED_TREE EXTRA_PACKAGE...
  local deb=$1 program=$2
  shift 2
  local depends libraries pkg
  depends=$(dpkg-deb -f "$deb" Depends)
  echo "   Depends: $depends"
  libraries=$(library_packages "$program") || exit 1
  for pkg in "$@" $libraries; do
    echo "$depends" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | has -x "$pkg" ||
      fail "$(basename "$deb")'s Depends lacks $pkg"
  done
}

step "contents of $(basename "$server_deb")"
check_files "$server_deb" \
  usr/bin/libreta-server \
  lib/systemd/system/libreta-server.service \
  etc/libreta/libreta-server.toml \
  usr/share/man/man8/libreta-server.8.gz \
  usr/share/doc/libreta-server/copyright
step "contents of $(basename "$cli_deb")"
check_files "$cli_deb" \
  usr/bin/libreta \
  usr/share/man/man1/libreta.1.gz \
  usr/share/doc/libreta/copyright

step "control files"
[ "$(dpkg-deb -f "$server_deb" Package)" = libreta-server ] || fail "server package's name"
[ "$(dpkg-deb -f "$cli_deb" Package)" = libreta ] || fail "cli package's name"
[ "$(dpkg-deb -I "$server_deb" conffiles)" = /etc/libreta/libreta-server.toml ] ||
  fail "libreta-server's conffiles must be exactly /etc/libreta/libreta-server.toml"
for script in postinst prerm postrm; do
  dpkg-deb -I "$server_deb" | has -E "^ +[0-9]+ bytes, +[0-9]+ lines +\* +$script " ||
    fail "libreta-server has no executable $script"
  dpkg-deb -I "$server_deb" "$script" >"$work/$script"
  sh -n "$work/$script" || fail "libreta-server's $script is not valid sh"
done
if dpkg-deb -I "$cli_deb" | has -E ' (conffiles|postinst|prerm|postrm|preinst) '; then
  fail "libreta has maintainer scripts or conffiles; it should have none"
fi

extracted=$work/extracted
dpkg-deb -x "$server_deb" "$extracted"
dpkg-deb -x "$cli_deb" "$extracted"
check_depends "$server_deb" "$extracted/usr/bin/libreta-server" adduser
check_depends "$cli_deb" "$extracted/usr/bin/libreta"

step "programs and man pages from the packages"
"$extracted/usr/bin/libreta-server" --help | has '^libreta-server: the libreta sync server' ||
  fail "libreta-server --help from the package"
"$extracted/usr/bin/libreta-server" token --help >/dev/null ||
  fail "libreta-server token --help from the package"
"$extracted/usr/bin/libreta" --help | has '^libreta: ' || fail "libreta --help from the package"
"$extracted/usr/bin/libreta" --version >/dev/null || fail "libreta --version from the package"
for page in man8/libreta-server.8.gz man1/libreta.1.gz; do
  warnings=$(zcat "$extracted/usr/share/man/$page" | groff -man -ww -z -Tutf8 2>&1)
  [ -z "$warnings" ] || fail "man page $page: $warnings"
done

step "systemd-analyze verify (extracted unit)"
# verify wants ExecStart's program to exist and runs man for Documentation=: the extracted
# unit is checked against the extracted program and man pages.
sed "s#^ExecStart=/usr/bin/libreta-server #ExecStart=$extracted/usr/bin/libreta-server #" \
  "$extracted/lib/systemd/system/libreta-server.service" >"$work/libreta-server.service"
MANPATH=$extracted/usr/share/man systemd-analyze verify "$work/libreta-server.service" ||
  fail "systemd-analyze verify on the packaged unit"
# The exposure score of the unit's sandbox (0 is fully locked, 10 is unprotected): a network
# daemon that must reach the network and write its state scores about 1.4.
systemd-analyze security --offline=yes --threshold=20 "$work/libreta-server.service" \
  >"$work/security.txt" 2>&1 ||
  { cat "$work/security.txt" >&2; fail "the unit's exposure is above 2.0"; }
grep 'Overall exposure level' "$work/security.txt" | sed 's/^/   /'

# ---- 2. A real installation ---------------------------------------------------------------
state_dir=/var/lib/libreta-server
db=$state_dir/libreta-server.db
config=/etc/libreta/libreta-server.toml
unit=/lib/systemd/system/libreta-server.service
wants=/etc/systemd/system/multi-user.target.wants/libreta-server.service
mask=/etc/systemd/system/libreta-server.service

package_status() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || echo not-installed; }

step "purging an earlier installation"
for p in libreta-server libreta; do
  [ "$(package_status "$p")" = not-installed ] || dpkg --purge "$p" >/dev/null ||
    fail "dpkg --purge $p (an earlier installation)"
done
# The purge keeps the user (below); it goes too, so that postinst is seen to create it.
if getent passwd libreta >/dev/null; then userdel libreta || fail "userdel libreta"; fi
if getent group libreta >/dev/null; then groupdel libreta || fail "groupdel libreta"; fi

step "dpkg -i"
dpkg -i "$server_deb" "$cli_deb" >"$work/dpkg.log" 2>&1 ||
  { cat "$work/dpkg.log" >&2; fail "dpkg -i"; }
for p in libreta-server libreta; do
  [ "$(package_status "$p")" = installed ] || fail "$p is not installed after dpkg -i"
done

step "the system user, the configuration, the state directory and the unit"
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd libreta) ||
  fail "postinst did not create the user libreta"
getent group libreta >/dev/null || fail "postinst did not create the group libreta"
[ "$uid" -lt 1000 ] || fail "libreta is not a system user (uid $uid)"
[ "$home" = "$state_dir" ] || fail "libreta's home is $home, not $state_dir"
[ "$shell" = /usr/sbin/nologin ] || fail "libreta's shell is $shell, not /usr/sbin/nologin"
[ -f "$config" ] || fail "$config is missing"
dpkg-query -W -f='${Conffiles}\n' libreta-server | has "^ $config " ||
  fail "dpkg does not know $config as a conffile"
[ "$(stat -c '%U:%G %a' "$state_dir")" = "libreta:libreta 750" ] ||
  fail "$state_dir is $(stat -c '%U:%G %a' "$state_dir"), not libreta:libreta 750"
[ "$(readlink "$wants")" = "$unit" ] || fail "postinst did not enable the unit ($wants)"
systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
command -v libreta-server libreta >/dev/null || fail "the programs are not on PATH"
man -w libreta-server >/dev/null && man -w 1 libreta >/dev/null || fail "man pages not found"

step "the packaged configuration"
runuser -u libreta -- libreta-server config check "$config" >/dev/null ||
  fail "libreta-server config check $config"
# The unit lets the server write only its state directory: the database must be there.
runuser -u libreta -- libreta-server serve --config "$config" --print-config |
  has -x "db = \"$db\"" || fail "$config does not put the database at $db"

# Whether the server started below still runs (one that exited stays a zombie until waited).
server_running() {
  local state
  state=$(ps -o stat= -p "$server_pid") || return 1
  [[ $state != Z* ]]
}

# Waits until `command...` succeeds, for at most `seconds`; gives up at once if the server
# has exited.
wait_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    [ -z "$server_pid" ] || server_running || return 1
    sleep 0.1
  done
}

step "the server as the unit runs it: user libreta, the packaged configuration"
# As ExecStart, in the unit's working directory, but on a port the kernel picks (named by
# the listening log line) so that nothing else on this machine is in the way. setpriv execs
# the server (runuser would stay as its parent), so $! is the server's pid.
server_log=$work/server.log
(cd "$state_dir" && exec setpriv --reuid=libreta --regid=libreta --init-groups -- \
  /usr/bin/libreta-server serve --config "$config" --listen 127.0.0.1:0) >"$server_log" 2>&1 &
server_pid=$!
listening() { grep -q 'event=listening' "$server_log"; }
wait_for 30 listening || { cat "$server_log" >&2; fail "the server did not start listening"; }
port=$(sed -n 's/.*event=listening.* listen=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$server_log")
[ -n "$port" ] || { cat "$server_log" >&2; fail "no port in the server's listening line"; }
healthy() { curl -fsS "http://127.0.0.1:$port/healthz" >"$work/healthz.json" 2>/dev/null; }
wait_for 30 healthy || { cat "$server_log" >&2; fail "/healthz did not answer on port $port"; }
grep -q '"status":"ok"' "$work/healthz.json" || fail "/healthz: $(cat "$work/healthz.json")"
echo "   /healthz on 127.0.0.1:$port: $(cat "$work/healthz.json")"
[ "$(stat -c %U "$db")" = libreta ] || fail "$db is not owned by libreta"

step "administration as the user libreta: a token, a device synced with it, a backup"
token=$(runuser -u libreta -- libreta-server token create --db "$db" --user pkgcheck \
  --role seller 2>/dev/null) || fail "libreta-server token create as the user libreta"
[[ "$token" =~ ^lbt_[A-Za-z0-9_-]+$ ]] || fail "token create printed no token: $token"
runuser -u libreta -- libreta-server token list --db "$db" | has pkgcheck ||
  fail "token list does not show the new token"
device=$work/device
libreta --home "$device" init --server "ws://127.0.0.1:$port/sync" --token "$token" \
  --owner pkgcheck >/dev/null || fail "libreta init"
libreta --home "$device" customer add --name "Ferretería López S.L." --city Salamanca \
  >/dev/null || fail "libreta customer add"
libreta --home "$device" sync --timeout 30 >/dev/null || fail "libreta sync with the server"
wait_for 10 healthy || fail "/healthz after the sync"
grep -q '"changes_applied":[1-9]' "$work/healthz.json" ||
  fail "the server applied no change: $(cat "$work/healthz.json")"
backup=$state_dir/pkgcheck-backup.db
runuser -u libreta -- libreta-server backup --db "$db" --out "$backup" >/dev/null 2>&1 ||
  fail "libreta-server backup as the user libreta while the server serves"

# The unit's ExecReload sends SIGHUP: the server reads its configuration again and serves on
# (one that did not handle it would be killed, and systemd would not restart it).
step "SIGHUP (systemctl reload)"
kill -HUP "$server_pid"
reloaded() { grep -q 'event=config_reloaded' "$server_log"; }
wait_for 10 reloaded || { cat "$server_log" >&2; fail "no event=config_reloaded after SIGHUP"; }
wait_for 10 healthy || { cat "$server_log" >&2; fail "/healthz after SIGHUP"; }

step "SIGTERM stops the server cleanly"
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=
[ "$status" -eq 0 ] || { cat "$server_log" >&2; fail "the server exited with $status on SIGTERM"; }
grep -q 'event=stopped' "$server_log" || { cat "$server_log" >&2; fail "no event=stopped"; }
runuser -u libreta -- libreta-server restore --from "$backup" --db "$db" >/dev/null 2>&1 ||
  fail "libreta-server restore as the user libreta"
runuser -u libreta -- libreta-server token list --db "$db" | has pkgcheck ||
  fail "the restored database lacks the token"

step "dpkg -r keeps the configuration and the database; a reinstallation finds them"
echo "# kept by dpkg -r" >>"$config"
dpkg -r libreta-server >>"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -r"; }
[ "$(package_status libreta-server)" = config-files ] || fail "libreta-server not in config-files"
[ ! -e /usr/bin/libreta-server ] && [ ! -e "$unit" ] || fail "dpkg -r left the program or unit"
[ -f "$db" ] || fail "dpkg -r removed the database"
[ "$(readlink "$mask")" = /dev/null ] || fail "postrm remove did not mask the unit"
dpkg -i "$server_deb" >>"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "reinstall"; }
grep -q '^# kept by dpkg -r' "$config" || fail "the reinstallation replaced the edited $config"
[ -f "$db" ] || fail "the database is gone after the reinstallation"
[ ! -e "$mask" ] || fail "postinst did not unmask the unit"
[ "$(readlink "$wants")" = "$unit" ] || fail "the reinstalled unit is not enabled"
# Installing the same version again runs postinst with the user and directory present.
dpkg -i "$server_deb" >>"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -i again"; }
runuser -u libreta -- libreta-server token list --db "$db" | has pkgcheck ||
  fail "the token made before dpkg -r is gone"

step "dpkg --purge leaves the machine clean"
dpkg --purge libreta-server libreta >>"$work/dpkg.log" 2>&1 ||
  { cat "$work/dpkg.log" >&2; fail "dpkg --purge"; }
for p in libreta-server libreta; do
  [ "$(package_status "$p")" = not-installed ] || fail "$p is still known to dpkg after purge"
done
leftovers=()
for path in /usr/bin/libreta-server /usr/bin/libreta "$unit" "$wants" "$mask" /etc/libreta \
  "$state_dir" /usr/share/man/man8/libreta-server.8.gz /usr/share/man/man1/libreta.1.gz \
  /usr/share/doc/libreta-server /usr/share/doc/libreta; do
  [ ! -e "$path" ] && [ ! -L "$path" ] || leftovers+=("$path")
done
for state in /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked; do
  [ ! -d "$state" ] || while IFS= read -r path; do leftovers+=("$path"); done \
    < <(find "$state" -name '*libreta-server*')
done
[ ${#leftovers[@]} -eq 0 ] || fail "left after purge: ${leftovers[*]}"
# Debian keeps system users on purge: files they own may remain, and a new user given the
# same uid would own them.
getent passwd libreta >/dev/null || fail "purge removed the user libreta, which it keeps"

# ---- 3. The unit under systemd --------------------------------------------------------------
# systemd-analyze checks the unit's syntax; only a running systemd applies its sandbox (the
# system call filter, no capabilities, the read-only file system), and the server must work
# inside it. systemd does not run on this machine, so it boots in a container whose root is
# this machine's seen through an overlay in memory: what happens in it does not stay. There
# the maintainer scripts meet a running systemd: postinst starts the service, prerm stops it.
step "the unit under systemd (a container booted on an overlay of this machine)"
container=$work/container
root=$container/root
mkdir -p "$container"
mount -t tmpfs -o size=1g tmpfs "$container"
mkdir -p "$container/upper" "$container/overlay-work" "$root"
mount -t overlay overlay \
  -o "lowerdir=/,upperdir=$container/upper,workdir=$container/overlay-work" "$root" ||
  fail "cannot mount an overlay of / for the container"
mkdir -p "$root/libreta-check"
cp "$server_deb" "$cli_deb" "$root/libreta-check/"
cat >"$root/libreta-check/check.sh" <<'INSIDE'
#!/bin/bash
# In the container, under systemd: the packages installed, the service as systemd runs it.
set -euo pipefail
exec >/libreta-check/log.txt 2>&1
fail() {
  echo "FAILED: $*"
  systemctl status libreta-server --no-pager || true
  journalctl -u libreta-server --no-pager -o cat | tail -n 40 || true
  exit 1
}
has() { grep "$@" >/dev/null; }
healthy() {
  local deadline=$((SECONDS + 30))
  until curl -fsS http://127.0.0.1:8080/healthz >/libreta-check/healthz.json 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
# A Docker-style policy-rc.d forbids starting services; the machine's real ones have none.
rm -f /usr/sbin/policy-rc.d
dpkg -i /libreta-check/*.deb || fail "dpkg -i"
systemctl is-active --quiet libreta-server || fail "postinst did not start the service"
healthy || fail "/healthz on the packaged configuration's 127.0.0.1:8080"
pid=$(systemctl show -p MainPID --value libreta-server)
status=$(cat "/proc/$pid/status")
echo "$status" | has -E "^Uid:\s+$(id -u libreta)\s" || fail "the server does not run as libreta"
echo "$status" | has -E '^CapEff:\s+0+$' || fail "the server has capabilities"
echo "$status" | has -E '^CapBnd:\s+0+$' || fail "the server's bounding set is not empty"
echo "$status" | has -E '^NoNewPrivs:\s+1$' || fail "NoNewPrivs is not set"
echo "$status" | has -E '^Seccomp:\s+2$' || fail "no system call filter"
db=/var/lib/libreta-server/libreta-server.db
token=$(runuser -u libreta -- libreta-server token create --db "$db" --user unit \
  --role seller 2>/dev/null) || fail "token create"
libreta --home /root/device init --server ws://127.0.0.1:8080/sync --token "$token" \
  --owner unit || fail "libreta init"
libreta --home /root/device customer add --name "Bar El Rincón" --city Zamora ||
  fail "libreta customer add"
libreta --home /root/device sync --timeout 30 || fail "libreta sync with the service"
healthy && has '"changes_applied":[1-9]' /libreta-check/healthz.json ||
  fail "the service applied no change"
systemctl reload libreta-server || fail "systemctl reload"
[ "$(systemctl show -p MainPID --value libreta-server)" = "$pid" ] ||
  fail "systemctl reload restarted the server"
journalctl -u libreta-server -o cat | has 'event=config_reloaded' ||
  fail "systemctl reload: no event=config_reloaded"
healthy || fail "/healthz after systemctl reload"
dpkg -r libreta-server || fail "dpkg -r"
! systemctl is-active --quiet libreta-server || fail "prerm did not stop the service"
journalctl -u libreta-server -o cat | has 'event=stopped' || fail "no event=stopped"
dpkg --purge libreta-server libreta || fail "dpkg --purge"
echo ok >/libreta-check/result
INSIDE
chmod 0755 "$root/libreta-check/check.sh"
# The container boots into libreta-check.target: the base system and the check, none of the
# machine's own services.
cat >"$root/etc/systemd/system/libreta-check.target" <<'UNIT'
[Unit]
Description=libreta package check
Requires=basic.target
Wants=libreta-check.service
After=basic.target
AllowIsolate=yes
UNIT
cat >"$root/etc/systemd/system/libreta-check.service" <<'UNIT'
[Unit]
Description=libreta package check
After=basic.target
SuccessAction=poweroff
FailureAction=poweroff
[Service]
Type=oneshot
ExecStart=/libreta-check/check.sh
UNIT
# Its own network namespace: the service's default port is free there. No registration
# with a machined, no shared journal: nothing of the container outlives it.
timeout 300 systemd-nspawn --quiet --directory="$root" --machine=libreta-check \
  --private-network --register=no --link-journal=no --keep-unit \
  --boot -- systemd.unit=libreta-check.target >"$work/container.log" 2>&1 ||
  { cat "$work/container.log" >&2; fail "the container did not boot or did not power off"; }
[ "$(cat "$root/libreta-check/result" 2>/dev/null)" = ok ] ||
  { cat "$root/libreta-check/log.txt" >&2 2>/dev/null || cat "$work/container.log" >&2
    fail "the check under systemd (above)"; }
echo "   under systemd: postinst started it, sandboxed (no capability, seccomp), synced," \
  "reloaded, prerm stopped it"

step "done in $(($(date +%s) - started)) s"
for deb in "$server_deb" "$cli_deb"; do
  printf '   %-40s %6s KiB (installed %s KiB)\n' "$(basename "$deb")" \
    "$(($(stat -c %s "$deb") / 1024))" "$(dpkg-deb -f "$deb" Installed-Size)"
done

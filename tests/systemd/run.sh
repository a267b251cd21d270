#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/systemd/run.sh: tests the product as users run it. Boots a fresh Debian 12 with real
# systemd, journald and the system bus in a systemd-nspawn container, installs mdatp into it the
# way a user would (the Debian package once scripts/build-deb.sh exists, `meson install` until
# then), and checks from ordinary processes in the container what the development sandbox cannot
# show: D-Bus activation through systemd, real-time protection of files in /root, /home, /tmp,
# /var/tmp and a freshly mounted tmpfs, scans, reload, the managed policy, journald, what a stop
# leaves behind, what a restart keeps, and that the unit gives the daemon no mount namespace.
# Each check prints "ok - ..." or "not ok - ..."; the last line is "N passed, N failed".
# Run as root from anywhere; scripts/test.sh runs it as its last stage. About 1 minute with a
# cached root, plus about 40 s the first time (tests/systemd/root.sh).
#
# The container shares the host's network namespace but has its own mount and PID namespaces:
# the daemon in it marks the container's mounts only and never sees the host's opens.
set -uo pipefail
cd "$(dirname "$0")/../.."

PASSED=0
FAILED=0
OUT=
RC=0
pass() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
finish() {
        echo "$PASSED passed, $FAILED failed"
        [ "$FAILED" = 0 ]
}
bail() {        # bail MESSAGE: a step the remaining checks depend on failed
        fail "$*"
        echo "# the remaining checks need that step; stopping"
        finish
        exit 1
}

[ "$(id -u)" = 0 ] || bail "tests/systemd/run.sh must run as root"
for tool in mmdebstrap systemd-nspawn nsenter meson ninja pgrep; do
        command -v "$tool" >/dev/null || bail "'$tool' is missing (scripts/deps.sh --tests installs it)"
done

BUILD_DIR=${MDATP_SYSTEMD_BUILD_DIR:-build-systemd}
MACHINE=mdatp-e2e-$$
WORK=
ROOT=
NSPAWN_PID=
CPID=
USER_NAME=alice
MANAGED=/etc/opt/microsoft/mdatp/managed/mdatp_managed.json
RTP_OBJECT=(com.microsoft.Mdatp1 /com/microsoft/Mdatp1/RealTimeProtection
            com.microsoft.Mdatp1.RealTimeProtection)
# The EICAR test string, assembled at run time so that this file is not a sample itself.
EICAR_A='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-'
EICAR_B='ANTIVIRUS-TEST-FILE!$H+H*'

# shutdown: stops the container by killing nspawn by PID (SIGTERM: nspawn powers the container
# off; SIGKILL after 15 s); its marks and mounts die with it. True if it shut down cleanly.
shutdown() {
        local i rc=0
        [ -n "$NSPAWN_PID" ] || return 0
        if kill -0 "$NSPAWN_PID" 2>/dev/null; then
                kill -TERM "$NSPAWN_PID" 2>/dev/null
                for i in $(seq 150); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$NSPAWN_PID" 2>/dev/null && rc=1
        fi
        [ -n "$CPID" ] && kill -KILL "$CPID" 2>/dev/null
        wait "$NSPAWN_PID" 2>/dev/null
        NSPAWN_PID=
        CPID=
        return "$rc"
}

# Stops the container, then removes the root copy without crossing into any mount left behind.
cleanup() {
        shutdown
        if [ -n "$WORK" ]; then
                # An nspawn killed hard may leave its mounts; never delete through one.
                if grep -qF " $WORK/" /proc/self/mounts; then
                        awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts |
                                sort -r | xargs -r -n1 umount -l 2>/dev/null
                fi
                rm -rf --one-file-system "$WORK"
        fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ct CMD...: runs CMD in the container (every namespace of its PID 1, a clean environment),
# bounded to 60 s. ct_as USER CMD...: the same as USER with its groups and no capabilities.
ct() {
        timeout 60 nsenter -t "$CPID" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
                LC_ALL=C.UTF-8 SYSTEMD_PAGER= "$@"
}
ct_as() {
        local user=$1
        shift
        ct setpriv --reuid="$user" --regid="$user" --init-groups --inh-caps=-all \
                env HOME="/home/$user" "$@"
}
# run CMD...: runs it, keeping stdout+stderr in $OUT and the exit code in $RC.
run() {
        RC=0
        OUT=$("$@" 2>&1) || RC=$?
}
# wait_until SECONDS CMD...: true once CMD succeeds, false after SECONDS.
wait_until() {
        local deadline=$(($(date +%s) + $1))
        shift
        until "$@" >/dev/null 2>&1; do
                [ "$(date +%s)" -lt "$deadline" ] || return 1
                sleep 0.1
        done
}
expect_rc() {   # expect_rc DESCRIPTION EXPECTED_RC  (checks $RC)
        if [ "$RC" = "$2" ]; then pass "$1"; else fail "$1: exit code $RC, expected $2; output: $OUT"; fi
}
expect_eq() {   # expect_eq DESCRIPTION ACTUAL EXPECTED
        if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', expected '$3'"; fi
}
expect_contains() {     # expect_contains DESCRIPTION HAYSTACK NEEDLE
        case "$2" in
        *"$3"*) pass "$1" ;;
        *) fail "$1: '$3' not found in: $2" ;;
        esac
}
expect_not_contains() {
        case "$2" in
        *"$3"*) fail "$1: '$3' unexpectedly found in: $2" ;;
        *) pass "$1" ;;
        esac
}

health_field() { ct mdatp health --field "$1" 2>&1; }
field_is() { [ "$(health_field "$1")" = "$2" ]; }
main_pid() { ct systemctl show -p MainPID --value mdatp.service 2>/dev/null; }
bus_owner_pid() {
        ct busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                GetConnectionUnixProcessID s com.microsoft.Mdatp1 2>/dev/null | awk '{ print $2 }'
}
daemon_up() { [ -n "$(bus_owner_pid)" ]; }
absent() { ! ct test -e "$1"; }
in_quarantine() { ct mdatp threat quarantine list 2>/dev/null | grep -qF "Original path: \"$1\""; }
marked() { ct busctl --system get-property "${RTP_OBJECT[@]}" MarkedMounts 2>/dev/null | grep -qF "\"$1\""; }
journal_count() {       # journal_count TEXT: how many of the unit's journal lines contain TEXT
        ct journalctl -u mdatp.service --no-pager -q -o cat 2>/dev/null | grep -cF "$1"
}
fanotify_fds() {        # the container's fds that are fanotify groups, as /proc/PID/fdinfo/FD
        ct sh -c 'grep -l fanotify /proc/[0-9]*/fdinfo/* 2>/dev/null' | grep -v "^/proc/self/"
}

# --- build and boot ------------------------------------------------------------------------

# install_product: installs mdatp into the running container the way a user would, and leaves
# mdatp.service enabled and started. With scripts/build-deb.sh in the tree: its packages and
# `dpkg -i` (postinst enables and starts the unit); until then `meson install` of a release build
# configured like scripts/setup.sh's, then what setup.sh does under systemd.
install_product() {
        local debs
        if [ -e scripts/build-deb.sh ]; then
                debs="$ROOT/var/cache/mdatp-debs"       # not /tmp: nspawn mounts a tmpfs there
                mkdir -p "$debs"
                # A release key of this run's own, so that the upgrade in package.sh is signed
                # like a real release series: with the same key.
                [ -s "$RELEASE_KEY" ] || (umask 077 && openssl genpkey -algorithm ed25519 -out "$RELEASE_KEY") ||
                        return 1
                nice bash scripts/build-deb.sh --signing-key "$RELEASE_KEY" --out "$debs" \
                        >"$WORK/build-deb.log" 2>&1 ||
                        { tail -n 30 "$WORK/build-deb.log"; return 1; }
                # The packages an endpoint takes: not the debug symbols.
                ct sh -c 'dpkg -i /var/cache/mdatp-debs/mdatp_*.deb /var/cache/mdatp-debs/mdatp-pack_*.deb'
                return
        fi
        if [ ! -f "$BUILD_DIR/build.ninja" ]; then
                nice meson setup "$BUILD_DIR" --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
                        --buildtype=release -Dtests=false >"$WORK/meson-setup.log" 2>&1 ||
                        { tail -n 30 "$WORK/meson-setup.log"; return 1; }
        fi
        nice ninja -C "$BUILD_DIR" -j2 >"$WORK/ninja.log" 2>&1 || { tail -n 30 "$WORK/ninja.log"; return 1; }
        DESTDIR="$ROOT" meson install -C "$BUILD_DIR" --quiet --no-rebuild || return 1
        ct sh -c 'systemctl daemon-reload && systemctl reload dbus && systemctl enable --now mdatp.service'
}

boot() {
        local i state deadline
        # -M: a name unique per run; --register=no --keep-unit: there may be no host systemd;
        # the syscall filter lets fanotify through nspawn's seccomp profile.
        systemd-nspawn --quiet --register=no --keep-unit --capability=all \
                --system-call-filter='fanotify_init fanotify_mark' \
                -M "$MACHINE" -D "$ROOT" --boot </dev/null >"$WORK/nspawn.log" 2>&1 &
        NSPAWN_PID=$!
        for i in $(seq 200); do
                CPID=$(pgrep -P "$NSPAWN_PID" -x systemd | head -n 1)
                [ -n "$CPID" ] && break
                kill -0 "$NSPAWN_PID" 2>/dev/null || break
                sleep 0.1
        done
        if [ -z "$CPID" ]; then
                tail -n 20 "$WORK/nspawn.log"
                return 1
        fi
        # Right after the fork there is no bus to ask yet ("offline", or an error): ask again.
        deadline=$(($(date +%s) + 90))
        for (( ;; )); do
                state=$(timeout 90 nsenter -t "$CPID" -a systemctl is-system-running --wait 2>&1)
                case "$state" in
                running | degraded | maintenance | stopping) break ;;
                esac
                [ "$(date +%s)" -lt "$deadline" ] || break
                sleep 0.2
        done
        case "$state" in
        running) pass "the container booted (systemd pid $CPID on the host, state $state)" ;;
        degraded)
                pass "the container booted (systemd pid $CPID on the host, state degraded)"
                echo "# failed units:"
                ct systemctl --failed --no-legend --plain | sed 's/^/#   /'
                ;;
        *)
                tail -n 20 "$WORK/nspawn.log"
                echo "# systemctl is-system-running: $state"
                return 1
                ;;
        esac
}

echo "# tests/systemd: the product installed and run under real systemd (machine $MACHINE)"
started=$(date +%s)
run tests/systemd/root.sh
[ "$RC" = 0 ] || bail "build the cached Debian root: $OUT"
tarball=${OUT##*$'\n'}
WORK=$(mktemp -d /var/tmp/mdatp-e2e.XXXXXX)
ROOT=$WORK/root
RELEASE_KEY=$WORK/release-key.pem
mkdir "$ROOT"
tar -C "$ROOT" -xf "$tarball" || bail "unpack '$tarball'"
# The container gets the auditd package for auditctl only: audit is not available inside a
# container (the kernel answers its netlink requests from the init namespaces only).
chroot "$ROOT" systemctl mask auditd.service >/dev/null 2>&1
boot || bail "boot the container (nspawn log above)"

run install_product
expect_rc "install the product into the running system (${OUT##*$'\n'})" 0
[ "$RC" = 0 ] || bail "the product could not be installed"
run ct systemctl is-enabled mdatp.service
expect_eq "mdatp.service is enabled" "$OUT" "enabled"
wait_until 20 daemon_up
run ct systemctl is-active mdatp.service
expect_eq "mdatp.service is active" "$OUT" "active"
[ "$OUT" = active ] || {
        ct journalctl -u mdatp.service --no-pager -n 30 | sed 's/^/#   /'
        bail "mdatp.service did not start"
}

# --- the running service -------------------------------------------------------------------

echo "# the unit and the journal"
pid=$(main_pid)
expect_eq "the bus name is owned by the unit's main process" "$(bus_owner_pid)" "$pid"
# Regression: ProtectSystem=, PrivateTmp= and the like gave the service its own mount namespace,
# where real-time protection saw none of the other processes' opens.
expect_eq "the service runs in PID 1's mount namespace" \
        "$(ct readlink "/proc/$pid/ns/mnt")" "$(ct readlink /proc/1/ns/mnt)"
run ct journalctl -u mdatp.service --no-pager -q -o cat
expect_contains "journald has the daemon's startup line" "$OUT" \
        "started (state '/var/opt/microsoft/mdatp', managed policy '$MANAGED')"

echo "# health"
wait_until 10 field_is real_time_protection_enabled true
expect_eq "mdatp health: healthy" "$(health_field healthy)" "true"
for f in real_time_protection_enabled real_time_protection_available; do
        expect_eq "mdatp health: $f" "$(health_field "$f")" "true"
done
expect_eq "mdatp health: health_issues" "$(health_field health_issues)" "[]"
run ct busctl --system get-property "${RTP_OBJECT[@]}" MarkedMounts
echo "# marked mounts: $OUT"
run ct journalctl -u mdatp.service --no-pager -q -o cat
expect_contains "the self-check proved the marks against PID 1's namespace" "$OUT" \
        "Real-time protection self-check passed: an open in the mount namespace of PID 1"
status_text() { ct systemctl show -p StatusText --value mdatp.service 2>&1; }
expect_eq "systemctl status says how it protects" "$(status_text)" \
        "Protecting (real-time protection blocking)"
run ct sh -c 'journalctl -u mdatp.service -o export -n 1 --no-pager | grep -c "^CODE_FILE="'
expect_eq "a journal entry names its source location once" "$OUT" "1"

# --- real-time protection ------------------------------------------------------------------

# check_eicar WHERE PATH [USER]: a shell (root, or USER) writes the sample to PATH and reads it
# back with cat: the read must fail with EPERM, the file must go, and the quarantine list it.
check_eicar() {
        local where=$1 path=$2 user=${3:-}
        local as=(ct)
        [ -n "$user" ] && as=(ct_as "$user")
        run "${as[@]}" sh -c 'printf "%s%s" "$1" "$2" >"$3" || exit 90; cat "$3" >/dev/null' \
                sh "$EICAR_A" "$EICAR_B" "$path"
        if [ "$RC" = 0 ]; then
                fail "$where: cat read the EICAR file '$path'"
        elif [ "$RC" = 90 ]; then
                fail "$where: could not write '$path': $OUT"
        else
                expect_contains "$where: reading the EICAR file fails with EPERM" "$OUT" \
                        "Operation not permitted"
        fi
        if wait_until 10 absent "$path"; then
                pass "$where: the file is gone"
        else
                fail "$where: '$path' is still there"
        fi
        if wait_until 10 in_quarantine "$path"; then
                pass "$where: the quarantine lists '$path'"
        else
                fail "$where: '$path' is not in 'mdatp threat quarantine list'"
        fi
}

echo "# real-time protection"
run ct useradd --create-home --shell /bin/sh "$USER_NAME"
expect_rc "create the user $USER_NAME" 0
check_eicar "root in /root" /root/eicar-root.com
check_eicar "root in /home/$USER_NAME" "/home/$USER_NAME/eicar-root.com"
check_eicar "root in /tmp" /tmp/eicar-root.com
check_eicar "root in /var/tmp" /var/tmp/eicar-root.com
check_eicar "$USER_NAME in /home/$USER_NAME" "/home/$USER_NAME/eicar-user.com" "$USER_NAME"
# Restore under the unit's capability bounding set: owner, setuid bit and bytes come back.
run ct_as "$USER_NAME" sh -c 'printf "%s%s" "$1" "$2" >"$3" && chmod 4750 "$3" && cat "$3" >/dev/null' \
        sh "$EICAR_A" "$EICAR_B" "/home/$USER_NAME/setuid.com"
expect_contains "$USER_NAME's setuid sample is refused" "$OUT" "Operation not permitted"
wait_until 10 in_quarantine "/home/$USER_NAME/setuid.com"
run ct mdatp threat quarantine restore threat-path --path "/home/$USER_NAME/setuid.com"
expect_rc "mdatp threat quarantine restore threat-path --path /home/$USER_NAME/setuid.com" 0
expect_eq "the restored file has its owner and mode" \
        "$(ct stat -c '%U:%G %a' "/home/$USER_NAME/setuid.com" 2>&1)" "$USER_NAME:$USER_NAME 4750"
run ct_as "$USER_NAME" sh -c 'cat "$1"' sh "/home/$USER_NAME/setuid.com"
expect_eq "the restored file has its bytes and can be read (restore grace)" "$OUT" "$EICAR_A$EICAR_B"
ct rm -f "/home/$USER_NAME/setuid.com"

# A filesystem mounted after the daemon started: it must follow the new mount.
run ct sh -c 'mkdir -p /mnt/fresh && mount -t tmpfs -o mode=1777 fresh /mnt/fresh'
expect_rc "mount a fresh tmpfs on /mnt/fresh" 0
if wait_until 10 marked /mnt/fresh; then
        pass "the daemon marks /mnt/fresh"
else
        fail "/mnt/fresh is not in MarkedMounts after 10 s"
fi
check_eicar "root on the fresh tmpfs" /mnt/fresh/eicar-root.com

# --- scans ---------------------------------------------------------------------------------

# In passive mode the sample can be written and stays; a custom scan must see exactly the files
# the shell created.
echo "# custom scans"
run ct mdatp config passive-mode --value enabled
expect_rc "mdatp config passive-mode --value enabled" 0
wait_until 10 field_is passive_mode_enabled true
expect_eq "systemctl status follows the enforcement level" "$(status_text)" \
        "Protecting (real-time protection reporting only, passive)"
n=20
scan_check() {  # scan_check DIR [USER]: N clean files and one sample in DIR, then a custom scan
        local dir=$1 user=${2:-}
        local as=(ct)
        [ -n "$user" ] && as=(ct_as "$user")
        run "${as[@]}" sh -c 'mkdir -p "$3" &&
                for i in $(seq "$4"); do echo "clean $i" >"$3/clean-$i.txt"; done &&
                printf "%s%s" "$1" "$2" >"$3/sample.com"' sh "$EICAR_A" "$EICAR_B" "$dir" "$n"
        [ "$RC" = 0 ] || { fail "create $n clean files and a sample in '$dir': $OUT"; return; }
        run ct timeout 50 mdatp scan custom --path "$dir"
        expect_contains "scan custom --path $dir: $((n + 1)) files scanned" "$OUT" \
                "	$((n + 1)) file(s) scanned"
        expect_contains "scan custom --path $dir: the sample detected" "$OUT" "	1 threat(s) detected"
        run ct test -e "$dir/sample.com"
        expect_rc "scan custom --path $dir: the sample stays in passive mode" 0
        ct rm -rf "$dir"
}
scan_check /tmp/scan
scan_check "/home/$USER_NAME/scan" "$USER_NAME"
run ct mdatp config passive-mode --value disabled
expect_rc "mdatp config passive-mode --value disabled" 0
wait_until 10 field_is passive_mode_enabled false

# --- reload and the managed policy ---------------------------------------------------------

echo "# systemctl reload and the managed policy"
pid=$(main_pid)
before=$(journal_count "on SIGHUP")
run ct systemctl reload mdatp.service
expect_rc "systemctl reload mdatp" 0
reloaded() { [ "$(journal_count "on SIGHUP")" -gt "$before" ]; }
if wait_until 10 reloaded; then
        pass "the journal says the daemon reloaded"
else
        fail "no new 'on SIGHUP' line in the journal after systemctl reload"
fi
expect_eq "the reload kept the process" "$(main_pid)" "$pid"
expect_eq "healthy after the reload" "$(health_field healthy)" "true"

# The managed policy is watched: writing it applies without a reload.
run ct sh -c 'printf "%s\n" "$1" >"$2.tmp" && chmod 0644 "$2.tmp" && mv -f "$2.tmp" "$2"' sh \
        '{"antivirusEngine": {"enforcementLevel": "passive"}}' "$MANAGED"
expect_rc "write $MANAGED" 0
if wait_until 10 field_is passive_mode_enabled true; then
        pass "the managed policy applies without a reload (passive_mode_enabled true)"
else
        fail "passive_mode_enabled is '$(health_field passive_mode_enabled)' 10 s after writing" \
                "the managed policy"
fi
run ct mdatp config passive-mode --value disabled
expect_rc "a managed setting cannot be changed locally" 1
# Passive from the policy: a sample is readable and stays (and is reported).
run ct sh -c 'printf "%s%s" "$1" "$2" >/root/passive.com && cat /root/passive.com >/dev/null' \
        sh "$EICAR_A" "$EICAR_B"
expect_rc "passive (managed): reading a sample is allowed" 0
run ct test -e /root/passive.com
expect_rc "passive (managed): the sample stays" 0
ct rm -f /root/passive.com "$MANAGED"
if wait_until 10 field_is passive_mode_enabled false; then
        pass "removing the managed policy applies (passive_mode_enabled false)"
else
        fail "passive_mode_enabled is '$(health_field passive_mode_enabled)' 10 s after removing" \
                "the managed policy"
fi

# --- polkit and an unprivileged user -------------------------------------------------------

echo "# an unprivileged user, with the real polkitd"
run ct_as "$USER_NAME" mdatp health --field real_time_protection_enabled
expect_eq "$USER_NAME can read health" "$OUT" "true"
run ct_as "$USER_NAME" mdatp config real-time-protection --value disabled
expect_rc "$USER_NAME cannot turn real-time protection off" 1
expect_contains "$USER_NAME is told why" "$OUT" "requires administrator privileges"
expect_eq "real-time protection stays on" "$(health_field real_time_protection_enabled)" "true"

# --- a crash -------------------------------------------------------------------------------

# Restart=on-failure: systemd starts the daemon again after a SIGKILL, and it protects again.
echo "# SIGKILL"
pid=$(main_pid)
ct kill -KILL "$pid"
restarted() { local p; p=$(main_pid); [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$pid" ] && daemon_up; }
if wait_until 15 restarted; then
        pass "systemd restarts the daemon after SIGKILL ($pid -> $(main_pid))"
else
        fail "no new daemon 15 s after SIGKILL: $(ct systemctl is-active mdatp.service)"
fi
wait_until 10 field_is real_time_protection_enabled true
check_eicar "root in /tmp after SIGKILL" /tmp/eicar-sigkill.com

# --- restart -------------------------------------------------------------------------------

echo "# systemctl restart"
run ct mdatp config maximum-on-demand-scan-threads --value 3
expect_rc "mdatp config maximum-on-demand-scan-threads --value 3" 0
settings_before=$(ct mdatp config list 2>&1)
threats_before=$(ct mdatp threat list --output json 2>&1)
quarantine_before=$(ct mdatp threat quarantine list 2>&1)
pid=$(main_pid)
run ct systemctl restart mdatp.service
expect_rc "systemctl restart mdatp" 0
wait_until 20 daemon_up
new_pid=$(main_pid)
if [ -n "$new_pid" ] && [ "$new_pid" != 0 ] && [ "$new_pid" != "$pid" ]; then
        pass "a new process after the restart ($pid -> $new_pid)"
else
        fail "main PID after the restart: '$new_pid' (before: $pid)"
fi
expect_eq "the restart keeps the settings (mdatp config list)" "$(ct mdatp config list 2>&1)" \
        "$settings_before"
expect_contains "the restart keeps maximumOnDemandScanThreads 3" \
        "$(echo "$settings_before" | grep -F maximumOnDemandScanThreads)" "3"
expect_eq "the restart keeps the threats (mdatp threat list)" \
        "$(ct mdatp threat list --output json 2>&1)" "$threats_before"
expect_eq "the restart keeps the quarantine" "$(ct mdatp threat quarantine list 2>&1)" "$quarantine_before"
wait_until 10 field_is real_time_protection_enabled true
check_eicar "root in /root after the restart" /root/eicar-restart.com

# --- a namespaced unit is caught ------------------------------------------------------------

# What once made real-time protection blind while health said healthy: a drop-in giving the
# service a private mount namespace. The self-check must see it and withdraw the claim.
echo "# a drop-in with PrivateTmp= and ProtectHome="
run ct sh -c 'mkdir -p /etc/systemd/system/mdatp.service.d &&
        printf "[Service]\nPrivateTmp=yes\nProtectHome=yes\n" >/etc/systemd/system/mdatp.service.d/ns.conf &&
        systemctl daemon-reload && systemctl restart mdatp.service'
expect_rc "restart with a private mount namespace" 0
wait_until 20 daemon_up
if wait_until 15 field_is healthy false; then
        pass "namespaced: health is not healthy"
else
        fail "namespaced: health says healthy: $(health_field health_issues)"
fi
expect_contains "namespaced: health_issues says real-time protection is not running, and why" \
        "$(health_field health_issues)" "raised no event"
expect_contains "namespaced: systemctl status says so" "$(status_text)" "Not protecting in real time"
run ct rm -rf /etc/systemd/system/mdatp.service.d
ct systemctl daemon-reload
run ct systemctl restart mdatp.service
expect_rc "restart without the drop-in" 0
wait_until 20 daemon_up
if wait_until 15 field_is healthy true; then
        pass "without the drop-in: healthy again"
else
        fail "without the drop-in: $(health_field health_issues)"
fi

# --- stop ----------------------------------------------------------------------------------

echo "# systemctl stop"
events=$(health_field supplementary_events_subsystem)
pid=$(main_pid)
fds=$(fanotify_fds)
expect_contains "while running, the daemon holds fanotify groups" "$fds" "/proc/$pid/fdinfo/"
run ct systemctl stop mdatp.service
expect_rc "systemctl stop mdatp" 0
run ct systemctl is-active mdatp.service
expect_eq "mdatp.service is inactive" "$OUT" "inactive"
fds=$(fanotify_fds)
expect_eq "no process in the container holds a fanotify group" "$fds" ""
run ct auditctl -l
if [ "$RC" = 0 ]; then
        expect_not_contains "no audit rule mentions mdatp" "$OUT" "mdatp"
elif [ "$events" = unavailable ]; then
        pass "audit is not available in the container ($OUT); the product claims none" \
                "(supplementary_events_subsystem unavailable)"
else
        fail "audit cannot be checked in the container ($OUT) but the product claims" \
                "supplementary_events_subsystem $events"
fi
# The container shares the host's network namespace: these are the host's rules too.
run ct iptables-save
if [ "$RC" = 0 ]; then
        expect_not_contains "no iptables rule mentions mdatp" "$OUT" "mdatp"
else
        fail "iptables-save failed: $OUT"
fi
run ct nft list ruleset
if [ "$RC" = 0 ]; then
        expect_not_contains "no nftables rule mentions mdatp" "$OUT" "mdatp"
else
        fail "nft list ruleset failed: $OUT"
fi

# --- D-Bus activation ----------------------------------------------------------------------

echo "# D-Bus activation"
run ct mdatp health --field healthy
expect_eq "with the service stopped, the first mdatp health answers" "$OUT" "true"
run ct systemctl is-active mdatp.service
expect_eq "the call started mdatp.service" "$OUT" "active"
pid=$(main_pid)
expect_eq "the activated daemon is the unit's main process" "$(bus_owner_pid)" "$pid"
expect_eq "the activated daemon runs in PID 1's mount namespace" \
        "$(ct readlink "/proc/$pid/ns/mnt")" "$(ct readlink /proc/1/ns/mnt)"
wait_until 10 field_is real_time_protection_enabled true
expect_eq "after activation: real_time_protection_enabled" \
        "$(health_field real_time_protection_enabled)" "true"
check_eicar "root in /var/tmp after activation" /var/tmp/eicar-activated.com

run ct journalctl -u mdatp.service --no-pager -q -o cat
expect_contains "journald has the quarantine messages" "$OUT" "'/root/eicar-root.com' quarantined"

failed_units=$(ct systemctl --failed --no-legend --plain)
expect_eq "no failed units before the reboot" "$failed_units" ""

# --- reboot --------------------------------------------------------------------------------

# The unit starts at boot because it is enabled, after a clean power-off with the daemon running.
echo "# power-off and boot again"
threats_before=$(ct mdatp threat list --output json 2>&1)
quarantine_before=$(ct mdatp threat quarantine list 2>&1)
if shutdown; then
        pass "the container powers off cleanly within 15 s with the daemon running"
else
        fail "the container did not power off within 15 s"
fi
boot || bail "boot the container again (nspawn log above)"
if wait_until 20 daemon_up; then
        pass "mdatp.service started at boot"
else
        fail "mdatp.service is '$(ct systemctl is-active mdatp.service)' after boot"
fi
run ct journalctl -b -u mdatp.service --no-pager -q -o cat
expect_contains "journald has this boot's startup line" "$OUT" "started (state '/var/opt/microsoft/mdatp'"
expect_eq "the reboot keeps the threats" "$(ct mdatp threat list --output json 2>&1)" "$threats_before"
expect_eq "the reboot keeps the quarantine" "$(ct mdatp threat quarantine list 2>&1)" "$quarantine_before"
wait_until 10 field_is real_time_protection_enabled true
check_eicar "root in /tmp after the reboot" /tmp/eicar-boot.com
failed_units=$(ct systemctl --failed --no-legend --plain)
expect_eq "no failed units after the reboot" "$failed_units" ""

# --- the package: upgrade, purge, and installs from a repository -----------------------------

if [ -e scripts/build-deb.sh ]; then
        . tests/systemd/package.sh
fi
echo "# $(($(date +%s) - started)) s"
finish

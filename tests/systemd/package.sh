# SPDX-License-Identifier: GPL-2.0-or-later
# tests/systemd/package.sh: sourced by run.sh once the product runs from its Debian package, with
# run.sh's helpers and the booted container. An upgrade keeps settings, threats and quarantine
# and restarts the daemon; purge leaves no daemon, unit, fanotify group or state behind; the
# Ansible role and the Puppet class install the package from a local apt repository (made here
# with apt-ftparchive), as fleets install it, and the service they start protects.

# ct_long SECONDS CMD...: ct with a longer bound, for package managers and CM tools.
ct_long() {
        local t=$1
        shift
        timeout "$t" nsenter -t "$CPID" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
                LC_ALL=C.UTF-8 SYSTEMD_PAGER= "$@"
}
dpkg_version() { ct dpkg-query -W -f='${Version}' mdatp 2>/dev/null; }
purged() {      # purged WHAT: nothing of the package is left, checked from the container
        run ct dpkg --purge mdatp
        expect_rc "$1: dpkg --purge mdatp" 0
        run ct systemctl is-active mdatp.service
        expect_eq "$1: no mdatp.service running" "$OUT" "inactive"
        expect_eq "$1: no process holds a fanotify group" "$(fanotify_fds)" ""
        local p
        for p in /usr/sbin/mdatpd /usr/bin/mdatp /lib/systemd/system/mdatp.service \
                 /var/opt/microsoft/mdatp; do
                if absent "$p"; then pass "$1: $p is gone"; else fail "$1: $p is still there"; fi
        done
}

echo "# upgrade"
upgrade_debs=/var/cache/mdatp-debs-upgrade
version_before=$(dpkg_version)
version_after="${version_before}+e2e1"
run nice bash scripts/build-deb.sh --signing-key "$RELEASE_KEY" --version "$version_after" \
        --out "$ROOT$upgrade_debs"
expect_rc "build version $version_after with the same release key" 0
settings_before=$(ct mdatp config list 2>&1)
threats_before=$(ct mdatp threat list --output json 2>&1)
quarantine_before=$(ct mdatp threat quarantine list 2>&1)
pid=$(main_pid)
run ct_long 120 sh -c "dpkg -i $upgrade_debs/mdatp_*.deb"
expect_rc "dpkg -i: upgrade $version_before -> $version_after" 0
expect_eq "the new version is installed" "$(dpkg_version)" "$version_after"
upgraded() { local p; p=$(main_pid); [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$pid" ] && daemon_up; }
if wait_until 20 upgraded; then
        pass "the upgrade restarted the daemon ($pid -> $(main_pid))"
else
        fail "no new daemon after the upgrade: $(ct systemctl is-active mdatp.service)"
fi
expect_eq "the upgrade keeps the settings" "$(ct mdatp config list 2>&1)" "$settings_before"
expect_eq "the upgrade keeps the threats" "$(ct mdatp threat list --output json 2>&1)" "$threats_before"
expect_eq "the upgrade keeps the quarantine" "$(ct mdatp threat quarantine list 2>&1)" "$quarantine_before"
wait_until 15 field_is healthy true
expect_eq "healthy after the upgrade" "$(health_field healthy)" "true"

echo "# purge"
purged "purge"

# A flat repository of the packages just built, as a fleet's mirror would serve them.
repo_line="deb [trusted=yes] file:$upgrade_debs ./"
run sh -c "cd '$ROOT$upgrade_debs' && apt-ftparchive packages . >Packages"
expect_rc "apt-ftparchive makes a local repository" 0

echo "# the Ansible role installs from the repository"
rm -rf "$ROOT/root/collections"
cp -r ansible/collections "$ROOT/root/collections"
cat >"$ROOT/root/site.yml" <<YAML
- name: Endpoint protection from a repository
  hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: /usr/bin/python3
  roles:
    - role: mdatp.endpoint.install
      vars:
        mdatp_apt_repository: "$repo_line"
        mdatp_managed_policy:
          antivirusEngine:
            enforcementLevel: real_time
YAML
ansible_play() {
        run ct_long 300 env ANSIBLE_COLLECTIONS_PATH=/root/collections ANSIBLE_NOCOLOR=1 \
                ANSIBLE_LOCALHOST_WARNING=0 ansible-playbook -c local -i localhost, /root/site.yml
}
ansible_play
expect_rc "ansible-playbook with mdatp_apt_repository" 0
[ "$RC" = 0 ] || echo "$OUT" | tail -n 20 | sed 's/^/#   /'
expect_eq "the role installed the repository's version" "$(dpkg_version)" "$version_after"
run ct systemctl is-active mdatp.service
expect_eq "the role left mdatp.service active" "$OUT" "active"
expect_eq "healthy after the Ansible install" "$(health_field healthy)" "true"
check_eicar "after the Ansible install" /root/eicar-ansible.com
ansible_play
expect_contains "the same play again changes nothing" "$OUT" "changed=0"

echo "# the Puppet class installs from the repository"
purged "purge before Puppet"
ct rm -f /etc/apt/sources.list.d/mdatp.list
rm -rf "$ROOT/root/modules"
mkdir -p "$ROOT/root/modules"
cp -r puppet/mdatp "$ROOT/root/modules/mdatp"
manifest="class { 'mdatp': apt_source => '$repo_line', managed_policy => { 'antivirusEngine' => { 'enforcementLevel' => 'real_time' } } }"
run ct_long 300 puppet apply --detailed-exitcodes --color=false --modulepath /root/modules -e "$manifest"
expect_rc "puppet apply with apt_source (2: changes applied)" 2
[ "$RC" = 2 ] || echo "$OUT" | tail -n 20 | sed 's/^/#   /'
expect_eq "Puppet installed the repository's version" "$(dpkg_version)" "$version_after"
wait_until 20 daemon_up
wait_until 15 field_is healthy true
expect_eq "healthy after the Puppet install" "$(health_field healthy)" "true"
check_eicar "after the Puppet install" /root/eicar-puppet.com
run ct_long 300 puppet apply --detailed-exitcodes --color=false --modulepath /root/modules -e "$manifest"
expect_rc "the same manifest again changes nothing (0)" 0

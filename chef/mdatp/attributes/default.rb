# frozen_string_literal: true

# Install from a package file (.deb/.rpm on the node) when package_path is set; otherwise the
# package named package_name from the apt repository apt_repository describes (the normal way:
# { 'uri' => 'https://packages.example.org/mdatp', 'distribution' => 'bookworm',
#   'components' => ['main'], 'signed_by' => '/usr/share/keyrings/mdatp.gpg' }), or from a
# repository configured elsewhere when it is nil; install false leaves it alone.
default['mdatp']['install'] = true
default['mdatp']['apt_repository'] = nil
default['mdatp']['package_path'] = nil
default['mdatp']['package_name'] = 'mdatp'

# mdatp_managed.json (root, 0644) from this hash; the same keys as the file.
default['mdatp']['manage_policy'] = true
default['mdatp']['managed_dir'] = '/etc/opt/microsoft/mdatp/managed'
default['mdatp']['managed_policy'] = {}
default['mdatp']['policy_timeout'] = 30

default['mdatp']['manage_service'] = true
default['mdatp']['service_name'] = 'mdatp'

# Local configuration over D-Bus: {setting => value}, [{kind, value, scope, absent}],
# {threat type => action}.
default['mdatp']['settings'] = {}
default['mdatp']['exclusions'] = []
default['mdatp']['threat_policy'] = {}

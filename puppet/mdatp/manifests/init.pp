# @summary Installs mdatp, writes mdatp_managed.json, runs the service, and applies local
#   settings, exclusions and threat policy over D-Bus (com.microsoft.Mdatp1).
#
# @param install Install the package (false: leave the installation alone).
# @param apt_source An apt source line of a repository carrying the package (the normal way),
#   written to /etc/apt/sources.list.d/mdatp.list before the package is installed from it.
# @param package_path A .deb or .rpm file on the node; without it, package_name from a repository.
# @param package_name The package.
# @param manage_policy Write mdatp_managed.json from managed_policy.
# @param managed_dir Directory of mdatp_managed.json.
# @param managed_policy The policy, with the same keys as the file.
# @param manage_service Enable and start the service.
# @param service_name The service.
# @param settings Local settings: { 'antivirusEngine.maximumOnDemandScanThreads' => 4, ... }.
# @param exclusions Local exclusions: { title => { kind, value, scope, ensure } }.
# @param threat_policy Actions per threat type: { 'potentially_unwanted_application' => 'block' }.
#
# @example
#   class { 'mdatp':
#     package_path   => '/tmp/mdatp_0.1.0_amd64.deb',
#     managed_policy => { 'antivirusEngine' => { 'enforcementLevel' => 'real_time' } },
#     settings       => { 'antivirusEngine.maximumOnDemandScanThreads' => 4 },
#     exclusions     => { 'postgres' => { 'kind' => 'folder', 'value' => '/var/lib/postgresql/' } },
#     threat_policy  => { 'potentially_unwanted_application' => 'block' },
#   }
class mdatp (
  Boolean $install = true,
  Optional[String[1]] $apt_source = undef,
  Optional[String[1]] $package_path = undef,
  String[1] $package_name = 'mdatp',
  Boolean $manage_policy = true,
  String[1] $managed_dir = '/etc/opt/microsoft/mdatp/managed',
  Hash $managed_policy = {},
  Boolean $manage_service = true,
  String[1] $service_name = 'mdatp',
  Hash[String[1], Any] $settings = {},
  Hash[String[1], Hash] $exclusions = {},
  Hash[Enum['potentially_unwanted_application', 'archive_bomb'], Enum['block', 'audit', 'off']] $threat_policy = {},
) {
  if $install {
    # Undef first: matching undef against a regex is an evaluation error.
    if $package_path =~ Undef and $apt_source =~ Undef {
      package { $package_name:
        ensure => installed,
      }
    } elsif $package_path =~ Undef {
      file { '/etc/apt/sources.list.d/mdatp.list':
        ensure  => file,
        owner   => 'root',
        group   => 'root',
        mode    => '0644',
        content => "${apt_source}\n",
      }
      exec { 'mdatp-apt-update':
        command     => '/usr/bin/apt-get update -q',
        refreshonly => true,
        subscribe   => File['/etc/apt/sources.list.d/mdatp.list'],
      }
      package { $package_name:
        ensure   => installed,
        provider => 'apt',
        require  => Exec['mdatp-apt-update'],
      }
    } elsif $package_path =~ /\.deb$/ {
      package { $package_name:
        ensure   => installed,
        source   => $package_path,
        provider => 'dpkg',
      }
    } elsif $package_path =~ /\.rpm$/ {
      package { $package_name:
        ensure   => installed,
        source   => $package_path,
        provider => 'rpm',
      }
    } else {
      fail("mdatp: package_path must end in .deb or .rpm: ${package_path}")
    }
    $package_dep = [Package[$package_name]]
  } else {
    $package_dep = []
  }

  if $manage_policy {
    file { $managed_dir:
      ensure  => directory,
      owner   => 'root',
      group   => 'root',
      mode    => '0755',
      require => $package_dep,
    }
    # Puppet replaces the file atomically; mdatpd watches the directory and applies it.
    file { "${managed_dir}/mdatp_managed.json":
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0644',
      content => template('mdatp/mdatp_managed.json.erb'),
    }
    $policy_dep = [File["${managed_dir}/mdatp_managed.json"]]
  } else {
    $policy_dep = []
  }

  if $manage_service {
    service { $service_name:
      ensure    => running,
      enable    => true,
      subscribe => $package_dep,
      require   => $policy_dep,
    }
    $service_dep = [Service[$service_name]]
  } else {
    $service_dep = []
  }

  $settings.each |String $setting, $value| {
    mdatp_setting { $setting:
      value   => $value,
      require => $service_dep + $policy_dep,
    }
  }

  $exclusions.each |String $title, Hash $e| {
    mdatp_exclusion { $title:
      *       => $e,
      require => $service_dep + $policy_dep,
    }
  }

  $threat_policy.each |String $type, String $act| {
    mdatp_threat_policy { $type:
      action  => $act,
      require => $service_dep + $policy_dep,
    }
  }
}

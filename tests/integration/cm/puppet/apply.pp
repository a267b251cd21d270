# Applied twice by test-puppet.sh: changes the first time (exit 2), nothing the second (exit 0).
# The sandbox takes no package and has no systemd: install and service are off.
class { 'mdatp':
  install        => false,
  manage_service => false,
  managed_dir    => $facts['mdatp_managed_dir'],
  managed_policy => {
    'cloudService' => { 'automaticSampleSubmissionConsent' => 'none' },
  },
  settings       => {
    'antivirusEngine.maximumOnDemandScanThreads' => 4,
    'antivirusEngine.scanArchives'               => false,
    'antivirusEngine.unmonitoredFilesystems'     => ['fuse'],
    'edr.tags'                                   => { 'GROUP' => 'web-servers' },
  },
  exclusions     => {
    'logs'  => { 'kind' => 'folder', 'value' => '/var/log/' },
    'rsync' => { 'kind' => 'process', 'value' => '/usr/bin/rsync', 'scope' => 'global' },
  },
  threat_policy  => {
    'potentially_unwanted_application' => 'block',
    'archive_bomb'                     => 'off',
  },
}

mdatp_setting { 'cloudService.proxy':
  ensure => absent,
}

mdatp_setting { 'antivirusEngine.scanResultsRetentionDays':
  value => '90', # the default, as a string: in sync, nothing to do
}

# ensure => absent: the exclusion goes, the setting's local value goes.
mdatp_exclusion { 'logs':
  ensure => absent,
  kind   => 'folder',
  value  => '/var/log/',
}

mdatp_setting { 'antivirusEngine.maximumOnDemandScanThreads':
  ensure => absent,
}

# puppet apply --modulepath=puppet puppet/mdatp/examples/init.pp
class { 'mdatp':
  package_path   => '/tmp/mdatp_0.1.0_amd64.deb',
  managed_policy => {
    'antivirusEngine' => {
      'enforcementLevel' => 'real_time',
      'exclusions'       => [
        { '$type' => 'excludedPath', 'path' => '/var/lib/postgresql/', 'isDirectory' => true },
      ],
    },
    'cloudService'    => { 'automaticSampleSubmissionConsent' => 'safe' },
  },
  settings       => {
    'antivirusEngine.maximumOnDemandScanThreads' => 4,
    'cloudService.proxy'                         => 'http://proxy.internal:3128/',
  },
  exclusions     => {
    'backup staging' => { 'kind' => 'folder', 'value' => '/srv/backup/staging/' },
    'rsync'          => { 'kind' => 'process', 'value' => '/usr/bin/rsync', 'scope' => 'global' },
  },
  threat_policy  => { 'potentially_unwanted_application' => 'block' },
}

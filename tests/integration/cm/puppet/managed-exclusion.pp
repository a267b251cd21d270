# Under a managed policy with a .iso exclusion: removing it locally fails with the daemon's text.
mdatp_exclusion { '.iso':
  ensure => absent,
  kind   => 'extension',
}

# Under a managed policy that sets the threads (written by test-puppet.sh): the change fails with
# the daemon's message.
mdatp_setting { 'antivirusEngine.maximumOnDemandScanThreads':
  value => 6,
}

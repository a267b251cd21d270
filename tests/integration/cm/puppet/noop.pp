# Run with --noop after apply.pp: reports would-be changes, applies none.
mdatp_setting { 'antivirusEngine.maximumOnDemandScanThreads':
  value => 8,
}

mdatp_exclusion { '.iso':
  kind => 'extension',
}

mdatp_threat_policy { 'potentially_unwanted_application':
  action => 'audit',
}

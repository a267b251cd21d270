# frozen_string_literal: true

Puppet::Type.newtype(:mdatp_exclusion) do
  @doc = <<-DOC
    @summary One mdatp exclusion, over D-Bus (com.microsoft.Mdatp1.Exclusions).

    present: the exclusion is in effect (locally, or from the managed policy); absent: the local
    exclusion is removed. Managed exclusions can only be removed from the policy file; the
    daemon's refusal is reported as the error.

    @example
      mdatp_exclusion { 'postgres data': kind => 'folder', value => '/var/lib/postgresql/' }
      mdatp_exclusion { '/usr/bin/rsync': kind => 'process', scope => 'global' }
      mdatp_exclusion { '.bak': kind => 'extension', ensure => absent }
  DOC

  ensurable do
    desc 'Whether the exclusion is in effect.'
    defaultvalues
    defaultto :present
  end

  newparam(:name, namevar: true) do
    desc 'A title; also the value when value is not given.'
  end

  newparam(:kind) do
    desc 'extension, file, folder or process.'
    newvalues(:extension, :file, :folder, :process)
  end

  newparam(:value) do
    desc 'The extension, path or process (default: the title). Matched exactly as listed.'
    defaultto { @resource[:name] }
  end

  newparam(:scope) do
    desc 'epp (antivirus) or global.'
    newvalues(:epp, :global)
    defaultto :epp
  end

  validate do
    raise ArgumentError, "mdatp_exclusion[#{self[:name]}]: kind is required" if self[:kind].nil?
  end
end

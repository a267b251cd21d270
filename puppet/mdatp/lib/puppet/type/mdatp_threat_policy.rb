# frozen_string_literal: true

Puppet::Type.newtype(:mdatp_threat_policy) do
  @doc = <<-DOC
    @summary The action for one threat type, over D-Bus (antivirusEngine.threatTypeSettings,
      merged per key: the other types keep their action).

    @example
      mdatp_threat_policy { 'potentially_unwanted_application': action => 'block' }
  DOC

  newparam(:name, namevar: true) do
    desc 'The threat type: potentially_unwanted_application or archive_bomb.'
    newvalues(:potentially_unwanted_application, :archive_bomb)
  end

  newproperty(:action) do
    desc 'block, audit or off.'
    newvalues(:block, :audit, :off)
  end
end

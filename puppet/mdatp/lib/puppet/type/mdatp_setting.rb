# frozen_string_literal: true

require File.expand_path(File.join(__dir__, '..', '..', 'puppet_x', 'mdatp', 'dbus_helper.rb'))

Puppet::Type.newtype(:mdatp_setting) do
  @doc = <<-DOC
    @summary One mdatp setting, over D-Bus (com.microsoft.Mdatp1.Settings).

    The title is the setting's dotted name in mdatp_managed.json. ensure => present sets the
    local value; ensure => absent removes it (Settings.Reset), so the managed or default value
    applies. The value is converted to the setting's D-Bus type and compared typed (4 and '4'
    are the same; lists regardless of order). A setting the managed policy locks fails with the
    daemon's message.

    @example
      mdatp_setting { 'antivirusEngine.maximumOnDemandScanThreads': value => 4 }
      mdatp_setting { 'antivirusEngine.unmonitoredFilesystems': value => ['fuse'] }
      mdatp_setting { 'edr.tags': value => { 'GROUP' => 'web' } }
      mdatp_setting { 'cloudService.proxy': ensure => absent }
  DOC

  ensurable do
    desc 'present: the local value is set; absent: there is no local value.'
    defaultvalues
    defaultto :present
  end

  newparam(:name, namevar: true) do
    desc 'The setting, as in mdatp_managed.json (antivirusEngine.enforcementLevel, ...).'
    validate do |value|
      raise ArgumentError, 'mdatp_setting: the name must be a dotted setting name' unless value =~ %r{\A[A-Za-z][\w.]*\z}
    end
  end

  newproperty(:value, array_matching: :all) do
    desc 'The value: a boolean, integer, string, array, or hash (key/value lists).'

    # Scalars arrive wrapped in an array (array_matching :all); list settings keep the array.
    # Puppet skips a property whose should is false, so false travels as :false (the helper
    # converts it back to a typed boolean).
    def should
      return nil unless defined?(@should) && @should
      return @should if MdatpDbus::LIST_TYPES.include?(provider.signature)

      @should.first == false ? :false : @should.first
    end

    def insync?(is)
      provider.value_insync?(is, should)
    end

    def is_to_s(value) # rubocop:disable Naming/PredicateName
      value.to_json
    end

    def should_to_s(value)
      (value.is_a?(Symbol) ? value.to_s : value).to_json
    end
  end

  validate do
    if self[:ensure] != :absent && !@parameters.key?(:value)
      raise ArgumentError, "mdatp_setting[#{self[:name]}]: value is required unless ensure => absent"
    end
  end
end

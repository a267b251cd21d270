# frozen_string_literal: true

# mdatp_setting: one mdatp setting, over D-Bus (libraries/dbus_helper.rb).
#
#   mdatp_setting 'antivirusEngine.maximumOnDemandScanThreads' do
#     value 4
#   end
#
#   mdatp_setting 'cloudService.proxy' do
#     action :reset
#   end

provides :mdatp_setting
unified_mode true

description 'Sets the local value of one mdatp setting (named as in mdatp_managed.json), or ' \
            'resets it so that the managed or default value applies, over D-Bus.'

property :setting_name, String, name_property: true,
                                description: 'Dotted name, as in mdatp_managed.json'
property :value, [String, Integer, TrueClass, FalseClass, Array, Hash],
         description: 'The value; converted to the setting\'s D-Bus type and compared typed'

load_current_value do |new_resource|
  current = MdatpDbus.current_setting(new_resource.setting_name)
  if new_resource.property_is_set?(:value) &&
     MdatpDbus.setting_in_sync?(new_resource.setting_name, new_resource.value, current)
    # In sync by the typed comparison (4 == "4", lists in any order): report it in the
    # desired form so that converge_if_changed sees no difference.
    value new_resource.value
  else
    value MdatpDbus.friendly(current[:type], current[:value])
  end
end

action :set do
  description 'Set the local value (fails with the daemon\'s message, e.g. managed by policy)'
  raise ArgumentError, "mdatp_setting[#{new_resource.setting_name}]: value is required" \
    unless new_resource.property_is_set?(:value)

  converge_if_changed :value do
    MdatpDbus.set(new_resource.setting_name, new_resource.value)
  end
end

action :reset do
  description 'Remove the local value'
  if MdatpDbus.current_setting(new_resource.setting_name)[:local]
    converge_by("reset #{new_resource.setting_name} to its managed or default value") do
      MdatpDbus.reset(new_resource.setting_name)
    end
  end
end

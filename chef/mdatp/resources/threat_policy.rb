# frozen_string_literal: true

# mdatp_threat_policy: the action for one threat type, over D-Bus (libraries/dbus_helper.rb).
# (The action is called threat_action: `action` is taken by Chef.)
#
#   mdatp_threat_policy 'potentially_unwanted_application' do
#     threat_action 'block'
#   end

provides :mdatp_threat_policy
unified_mode true

description 'Sets what mdatp does with one threat type (antivirusEngine.threatTypeSettings, ' \
            'merged per key) over D-Bus.'

property :threat_type, String, name_property: true,
                               equal_to: %w[potentially_unwanted_application archive_bomb]
property :threat_action, String, equal_to: %w[block audit off], required: true

load_current_value do |new_resource|
  threat_action MdatpDbus.threat_policy.fetch(new_resource.threat_type, 'audit')
end

action :set do
  description 'Set the action (fails when the managed policy sets this threat type)'
  converge_if_changed :threat_action do
    MdatpDbus.set_threat_policy(new_resource.threat_type, new_resource.threat_action)
  end
end

# frozen_string_literal: true

# mdatp_exclusion: one exclusion, over D-Bus (libraries/dbus_helper.rb).
#
#   mdatp_exclusion '/var/lib/postgresql/' do
#     kind 'folder'
#     scope 'epp'
#   end
#
#   mdatp_exclusion '.bak' do
#     kind 'extension'
#     action :remove
#   end

provides :mdatp_exclusion
unified_mode true

description 'Adds or removes a local mdatp exclusion over D-Bus; an exclusion in effect from the ' \
            'managed policy counts as present and cannot be removed locally.'

property :value, String, name_property: true,
                         description: 'The extension, path or process'
property :kind, String, equal_to: %w[extension file folder process], required: true
property :scope, String, equal_to: %w[epp global], default: 'epp'

load_current_value do |new_resource|
  entry = MdatpDbus.find_exclusion(new_resource.kind, new_resource.value, new_resource.scope)
  current_value_does_not_exist! if entry.nil?
  value entry['value']
  kind entry['kind']
  scope entry['scope']
end

action :add do
  description 'The exclusion is in effect'
  if current_resource.nil?
    converge_by("add #{new_resource.kind} exclusion #{new_resource.value} (scope #{new_resource.scope})") do
      MdatpDbus.exclusion_add(new_resource.kind, new_resource.value, new_resource.scope)
    end
  end
end

action :remove do
  description 'The local exclusion is not in effect'
  unless current_resource.nil?
    converge_by("remove #{new_resource.kind} exclusion #{new_resource.value} (scope #{new_resource.scope})") do
      MdatpDbus.exclusion_remove(new_resource.kind, new_resource.value, new_resource.scope)
    end
  end
end

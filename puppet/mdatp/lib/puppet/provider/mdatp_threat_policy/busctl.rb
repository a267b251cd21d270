# frozen_string_literal: true

require File.expand_path(File.join(__dir__, '..', '..', '..', 'puppet_x', 'mdatp', 'dbus_helper.rb'))

Puppet::Type.type(:mdatp_threat_policy).provide(:busctl) do
  desc 'Talks to mdatpd over D-Bus with busctl --json=short.'

  commands busctl: 'busctl'

  def action
    MdatpDbus.threat_policy.fetch(resource[:name].to_s, 'audit').to_sym
  rescue MdatpDbus::Error => e
    raise Puppet::Error, e.message
  end

  def action=(value)
    MdatpDbus.set_threat_policy(resource[:name].to_s, value.to_s)
  rescue MdatpDbus::Error => e
    raise Puppet::Error, e.message
  end
end

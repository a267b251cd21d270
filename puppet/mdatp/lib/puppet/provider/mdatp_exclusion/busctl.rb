# frozen_string_literal: true

require File.expand_path(File.join(__dir__, '..', '..', '..', 'puppet_x', 'mdatp', 'dbus_helper.rb'))

Puppet::Type.type(:mdatp_exclusion).provide(:busctl) do
  desc 'Talks to mdatpd over D-Bus with busctl --json=short.'

  commands busctl: 'busctl'

  def triple
    [resource[:kind].to_s, resource[:value].to_s, resource[:scope].to_s]
  end

  def exists?
    !MdatpDbus.find_exclusion(*triple).nil?
  rescue MdatpDbus::Error => e
    raise Puppet::Error, e.message
  end

  def create
    MdatpDbus.exclusion_add(*triple)
  rescue MdatpDbus::Error => e
    raise Puppet::Error, e.message
  end

  def destroy
    MdatpDbus.exclusion_remove(*triple)
  rescue MdatpDbus::Error => e
    raise Puppet::Error, e.message
  end
end

# frozen_string_literal: true

require File.expand_path(File.join(__dir__, '..', '..', '..', 'puppet_x', 'mdatp', 'dbus_helper.rb'))

Puppet::Type.type(:mdatp_setting).provide(:busctl) do
  desc 'Talks to mdatpd over D-Bus with busctl --json=short (typed arguments and replies).'

  commands busctl: 'busctl'

  def current
    @current ||= MdatpDbus.current_setting(resource[:name])
  rescue MdatpDbus::Error => e
    raise Puppet::Error, e.message
  end

  def signature
    current[:type]
  end

  # The setting always exists; "absent" means "no local value", so only then does it matter.
  def exists?
    return current[:local] if resource[:ensure] == :absent

    true
  end

  def create; end

  def destroy
    MdatpDbus.reset(resource[:name])
    @current = nil
  rescue MdatpDbus::Error => e
    raise Puppet::Error, e.message
  end

  def value
    MdatpDbus.friendly(current[:type], current[:value])
  end

  def value_insync?(_is, should)
    MdatpDbus.setting_in_sync?(resource[:name], should, current)
  rescue MdatpDbus::Error => e
    raise Puppet::Error, e.message
  end

  def value=(should)
    MdatpDbus.set(resource[:name], should)
    @current = nil
  rescue MdatpDbus::Error => e
    raise Puppet::Error, e.message
  end
end

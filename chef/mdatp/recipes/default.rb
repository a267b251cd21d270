# frozen_string_literal: true

#
# Cookbook:: mdatp
# Recipe:: default
#
# Installs mdatp, writes mdatp_managed.json from node['mdatp']['managed_policy'], enables and
# starts the service, waits until the daemon has applied the policy, then applies local
# settings, exclusions and threat policy over D-Bus with the cookbook's custom resources.

require 'json'

conf = node['mdatp']
managed_dir = conf['managed_dir']
policy = JSON.parse(JSON.generate(conf['managed_policy'].to_hash))

if conf['install']
  path = conf['package_path'].to_s
  repo = conf['apt_repository']
  if repo && path.empty?
    # The normal way: the package from an apt repository.
    apt_repository 'mdatp' do
      uri repo['uri']
      distribution repo['distribution']
      components repo['components']
      trusted repo['trusted'] if repo.key?('trusted')
      signed_by repo['signed_by'] if repo.key?('signed_by')
    end
    package conf['package_name'] do
      notifies :restart, "service[#{conf['service_name']}]", :delayed if conf['manage_service']
    end
  elsif path.end_with?('.deb')
    dpkg_package 'mdatp' do
      source path
      notifies :restart, "service[#{conf['service_name']}]", :delayed if conf['manage_service']
    end
  elsif path.end_with?('.rpm')
    rpm_package 'mdatp' do
      source path
      notifies :restart, "service[#{conf['service_name']}]", :delayed if conf['manage_service']
    end
  elsif path.empty?
    package conf['package_name']
  else
    raise "node['mdatp']['package_path'] must end in .deb or .rpm: #{path}"
  end
end

if conf['manage_policy']
  directory managed_dir do
    owner 'root'
    group 'root'
    mode '0755'
    recursive true
  end

  # The file resource replaces the file atomically; mdatpd watches the directory and applies it.
  file ::File.join(managed_dir, 'mdatp_managed.json') do
    content "#{JSON.pretty_generate(policy)}\n"
    owner 'root'
    group 'root'
    mode '0644'
  end
end

if conf['manage_service']
  service conf['service_name'] do
    action %i[enable start]
  end
end

if conf['manage_policy']
  ruby_block 'wait for mdatpd to apply the managed policy' do
    block do
      deadline = Time.now + conf['policy_timeout'].to_f
      loop do
        pending = begin
          MdatpDbus.policy_pending(policy)
        rescue MdatpDbus::Error => e
          ["(mdatpd: #{e.message})"]
        end
        break if pending.empty?

        if Time.now >= deadline
          issues = begin
            MdatpDbus.health_property('HealthIssues')
          rescue MdatpDbus::Error
            []
          end
          raise "mdatpd has not applied the managed policy: pending #{pending.join(', ')}; " \
                "health issues: #{issues.empty? ? 'none' : issues.join('; ')}"
        end
        sleep 0.5
      end
    end
  end
end

conf['settings'].each do |setting, value|
  mdatp_setting setting do
    value value
  end
end

conf['exclusions'].each do |e|
  mdatp_exclusion e['value'] do
    kind e['kind']
    scope e['scope'] || 'epp'
    action e['absent'] ? :remove : :add
  end
end

conf['threat_policy'].each do |type, act|
  mdatp_threat_policy type do
    threat_action act
  end
end

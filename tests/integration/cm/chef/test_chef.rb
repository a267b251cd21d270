# frozen_string_literal: true

# SPDX-License-Identifier: GPL-2.0-or-later
#
# The cookbook's D-Bus helper (chef/mdatp/libraries/dbus_helper.rb) and custom resources against
# the real daemon of scripts/sandbox.sh, with minitest. Checks are made independently with plain
# busctl. The resources run on chef_shim.rb, a minimal stand-in for Chef's DSL (Chef is not
# installable here). Run by test-chef.sh.

require 'json'
require 'minitest/autorun'
require 'open3'

SRC = File.expand_path('../../../..', __dir__)
COOKBOOK = File.join(SRC, 'chef', 'mdatp')
require File.join(COOKBOOK, 'libraries', 'dbus_helper.rb')
require File.join(__dir__, 'chef_shim.rb')

THREADS = 'antivirusEngine.maximumOnDemandScanThreads'
MANAGED_DIR = ENV.fetch('MDATP_MANAGED_DIR')
RESOURCES = %w[setting exclusion threat_policy].to_h do |r|
  [r, ChefShim::Resource.load_file(File.join(COOKBOOK, 'resources', "#{r}.rb"))]
end

# Plain busctl, independent of the helper: [stdout, success].
def busctl_text(*args)
  out, _err, status = Open3.capture3('busctl', '--system', *args)
  [out.strip, status.success?]
end

def effective(name)
  busctl_text('call', 'com.microsoft.Mdatp1', '/com/microsoft/Mdatp1', 'com.microsoft.Mdatp1.Settings',
              'Get', 's', name)[0].sub(/\Av /, '')
end

def exclusion_list_text
  busctl_text('call', 'com.microsoft.Mdatp1', '/com/microsoft/Mdatp1/Exclusions',
              'com.microsoft.Mdatp1.Exclusions', 'List')[0]
end

def wait_for(seconds = 10)
  deadline = Time.now + seconds
  until yield
    return false if Time.now > deadline

    sleep 0.05
  end
  true
end

def write_policy(doc)
  tmp = File.join(MANAGED_DIR, '.tmp.json')
  File.write(tmp, JSON.generate(doc))
  File.chmod(0o644, tmp)
  File.rename(tmp, File.join(MANAGED_DIR, 'mdatp_managed.json'))
end

def resource(kind, name, **props)
  r = RESOURCES.fetch(kind).new(name)
  props.each { |k, v| r.public_send(k, v) }
  r
end

class MdatpHelperTest < Minitest::Test
  def teardown
    policy = File.join(MANAGED_DIR, 'mdatp_managed.json')
    if File.exist?(policy)
      File.unlink(policy)
      assert wait_for { MdatpDbus.list_settings.values.none? { |e| e['managed'] } }, 'policy not dropped'
    end
    [THREADS, 'edr.tags', 'antivirusEngine.exclusions', 'antivirusEngine.threatTypeSettings',
     'antivirusEngine.scanArchives'].each do |n|
      busctl_text('call', 'com.microsoft.Mdatp1', '/com/microsoft/Mdatp1', 'com.microsoft.Mdatp1.Settings',
                  'Reset', 's', n)
    end
    MdatpDbus.exclusions.reject { |e| e['managed'] }.each do |e|
      MdatpDbus.exclusion_remove(e['kind'], e['value'], e['scope'])
    end
  end

  # -- the helper ------------------------------------------------------------------------

  def test_get_is_typed
    assert_equal ['i', 2], MdatpDbus.get(THREADS)
    assert_equal ['b', true], MdatpDbus.get('antivirusEngine.scanArchives')
    assert_equal ['a(ss)', [%w[potentially_unwanted_application audit], %w[archive_bomb audit]]],
                 MdatpDbus.get('antivirusEngine.threatTypeSettings')
    assert_equal ['as', %w[nfs fuse]], MdatpDbus.get('antivirusEngine.unmonitoredFilesystems')
    assert_equal ['a(ssbas)', []], MdatpDbus.get('exclusionSettings.exclusions')
  end

  def test_set_and_reset
    assert_equal 4, MdatpDbus.set(THREADS, '4')
    assert_equal 'i 4', effective(THREADS)
    MdatpDbus.set('antivirusEngine.scanArchives', 'false')
    assert_equal 'b false', effective('antivirusEngine.scanArchives')
    MdatpDbus.set('edr.tags', { 'GROUP' => 'db' })
    assert_equal 'a(ss) 1 "GROUP" "db"', effective('edr.tags')
    MdatpDbus.set('antivirusEngine.exclusions',
                  [{ '$type' => 'excludedPath', 'path' => '/srv/x/', 'isDirectory' => true },
                   { '$type' => 'excludedFileName', 'name' => '-odd-name' }])
    assert_equal 'a(ssbas) 2 "excludedPath" "/srv/x/" true 1 "epp" "excludedFileName" "-odd-name" false 1 "epp"',
                 effective('antivirusEngine.exclusions')
    MdatpDbus.reset(THREADS)
    assert_equal 'i 2', effective(THREADS)
  end

  def test_current_value_loading
    cur = MdatpDbus.current_setting(THREADS)
    assert_equal({ name: THREADS, type: 'i', value: 2, managed: false, source: 'default', local: false }, cur)
    assert MdatpDbus.setting_in_sync?(THREADS, '2', cur)
    refute MdatpDbus.setting_in_sync?(THREADS, 3, cur)
    MdatpDbus.set(THREADS, 3)
    cur = MdatpDbus.current_setting(THREADS)
    assert_equal [3, 'local', true], [cur[:value], cur[:source], cur[:local]]
    assert MdatpDbus.setting_in_sync?('antivirusEngine.unmonitoredFilesystems', %w[fuse nfs])
    assert MdatpDbus.setting_in_sync?('antivirusEngine.threatTypeSettings',
                                      { 'archive_bomb' => 'audit', 'potentially_unwanted_application' => 'audit' })
    assert_equal [{ 'key' => 'potentially_unwanted_application', 'value' => 'audit' },
                  { 'key' => 'archive_bomb', 'value' => 'audit' }],
                 MdatpDbus.friendly(*MdatpDbus.get('antivirusEngine.threatTypeSettings'))
  end

  def test_errors_carry_the_daemons_text
    e = assert_raises(MdatpDbus::Error) { MdatpDbus.set(THREADS, 99) }
    assert_match(/99 is out of range 1\.\.64/, e.message)
    assert_equal 'InvalidArgument', e.kind
    e = assert_raises(MdatpDbus::Error) { MdatpDbus.get('nope.nope') }
    assert_match(/Unknown setting 'nope\.nope'/, e.message)
    e = assert_raises(MdatpDbus::Error) { MdatpDbus.set('antivirusEngine.scanArchives', 'maybe') }
    assert_match(/takes a boolean/, e.message)
    e = assert_raises(MdatpDbus::Error) { MdatpDbus.exclusion_remove('folder', '/never/added/', 'epp') }
    assert_equal 'NotFound', e.kind
  end

  def test_managed_policy
    write_policy({ 'antivirusEngine' => { 'maximumOnDemandScanThreads' => 3 } })
    policy = { 'antivirusEngine' => { 'maximumOnDemandScanThreads' => 3 } }
    assert wait_for { MdatpDbus.policy_pending(policy).empty? }, 'policy not applied'
    assert_equal({ name: THREADS, type: 'i', value: 3, managed: true, source: 'managed', local: false },
                 MdatpDbus.current_setting(THREADS))
    e = assert_raises(MdatpDbus::Error) { MdatpDbus.set(THREADS, 5) }
    assert_match(/The setting 'antivirusEngine\.maximumOnDemandScanThreads' is managed by policy/, e.message)
    assert_equal 'ManagedByPolicy', e.kind
  end

  def test_access_denied_for_nobody
    # The helper, run as nobody: reading works, changing is refused by polkit. (busctl shows
    # sd-bus's "Access denied" for org.freedesktop.DBus.Error.AccessDenied, not the daemon's text.)
    code = "require ARGV[0]; p MdatpDbus.get(ARGV[1])[1]; " \
           'begin; MdatpDbus.set(ARGV[1], 5); rescue MdatpDbus::Error => e; puts "#{e.kind}|#{e.message}"; end'
    out, err, = Open3.capture3('setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--inh-caps=-all',
                               'env', "DBUS_SYSTEM_BUS_ADDRESS=#{ENV.fetch('DBUS_SYSTEM_BUS_ADDRESS')}",
                               'ruby', '-e', code, File.join(COOKBOOK, 'libraries', 'dbus_helper.rb'), THREADS)
    lines = out.lines.map(&:strip)
    assert_equal '2', lines[0], out + err
    assert_equal 'AccessDenied|Access denied', lines[1], out + err
    assert_equal 'i 2', effective(THREADS)
  end

  def test_exclusions
    MdatpDbus.exclusion_add('folder', '/srv/chef-test/', 'epp')
    assert_includes exclusion_list_text, '"folder" "/srv/chef-test/" "epp" false'
    assert_equal({ 'kind' => 'folder', 'value' => '/srv/chef-test/', 'scope' => 'epp', 'managed' => false },
                 MdatpDbus.find_exclusion('folder', '/srv/chef-test/'))
    assert_nil MdatpDbus.find_exclusion('folder', '/srv/chef-test/', 'global')
    MdatpDbus.exclusion_remove('folder', '/srv/chef-test/', 'epp')
    refute_includes exclusion_list_text, '/srv/chef-test/'
    e = assert_raises(MdatpDbus::Error) { MdatpDbus.exclusion_add('extension', '.pdf', 'global') }
    assert_match(/not supported in the global scope/, e.message)
  end

  def test_health
    h = MdatpDbus.health
    assert_includes [true, false], h['Healthy']
    assert_kind_of Array, h['HealthIssues']
    assert_equal File.join(MANAGED_DIR, 'mdatp_managed.json'), h['ManagedPolicyPath']
    assert_equal h['AppVersion'], MdatpDbus.health_property('AppVersion')
  end

  # -- the custom resources, on the shim -----------------------------------------------------

  def test_setting_resource
    assert resource('setting', THREADS, value: 6).run_action(:set), 'first run converges'
    assert_equal 'i 6', effective(THREADS)
    refute resource('setting', THREADS, value: '6').run_action(:set), 'second run: nothing to do'
    assert resource('setting', 'antivirusEngine.scanArchives', value: false).run_action(:set)
    refute resource('setting', 'antivirusEngine.scanArchives', value: false).run_action(:set)
    assert resource('setting', THREADS).run_action(:reset)
    assert_equal 'i 2', effective(THREADS)
    refute resource('setting', THREADS).run_action(:reset)
  end

  def test_setting_resource_managed
    write_policy({ 'antivirusEngine' => { 'maximumOnDemandScanThreads' => 3 } })
    assert wait_for { MdatpDbus.current_setting(THREADS)[:managed] }
    refute resource('setting', THREADS, value: 3).run_action(:set), 'the managed value is in sync'
    e = assert_raises(MdatpDbus::Error) { resource('setting', THREADS, value: 4).run_action(:set) }
    assert_match(/is managed by policy/, e.message)
  end

  def test_exclusion_resource
    assert resource('exclusion', '/usr/bin/rsync', kind: 'process', scope: 'global').run_action(:add)
    assert_includes exclusion_list_text, '"process" "/usr/bin/rsync" "global" false'
    refute resource('exclusion', '/usr/bin/rsync', kind: 'process', scope: 'global').run_action(:add)
    assert resource('exclusion', '/usr/bin/rsync', kind: 'process', scope: 'global').run_action(:remove)
    refute_includes exclusion_list_text, '/usr/bin/rsync'
    refute resource('exclusion', '/usr/bin/rsync', kind: 'process', scope: 'global').run_action(:remove)
    assert_raises(ChefShim::ValidationFailed) { resource('exclusion', 'x', kind: 'bogus') }
  end

  def test_threat_policy_resource
    assert resource('threat_policy', 'archive_bomb', threat_action: 'block').run_action(:set)
    assert_equal 'a(ss) 2 "potentially_unwanted_application" "audit" "archive_bomb" "block"',
                 effective('antivirusEngine.threatTypeSettings')
    refute resource('threat_policy', 'archive_bomb', threat_action: 'block').run_action(:set)
  end
end

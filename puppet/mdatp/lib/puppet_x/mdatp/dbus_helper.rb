# frozen_string_literal: true

# SPDX-License-Identifier: GPL-2.0-or-later
#
# MdatpDbus: typed access to mdatpd's D-Bus API (com.microsoft.Mdatp1 on the system bus) from
# Ruby, for the Chef cookbook (chef/mdatp/libraries/dbus_helper.rb) and the Puppet providers
# (puppet/mdatp/lib/puppet_x/mdatp/dbus_helper.rb, a byte-identical copy: test-chef.sh and
# test-puppet.sh fail if they drift). Ruby has no D-Bus library in Debian, so every call goes
# through `busctl --system --json=short -- call|get-property ...`: still D-Bus, with typed
# arguments built from each setting's signature and typed JSON replies, never the text of the
# mdatp command.
#
# Values cross in a canonical form, by D-Bus signature: b -> true/false, i/u/t/x -> Integer,
# s -> String, as -> [String], a(ss) -> [[key, value]], a(ssbas) -> [[$type, value,
# isDirectory, [scopes]]]. coerce turns what a manifest or recipe says (strings for numbers,
# "true", the mdatp_managed.json shapes {"key"=>..,"value"=>..} and {"$type"=>..,"path"=>..})
# into that form, checked against the signature that Settings.Get reports.
#
# Errors raise MdatpDbus::Error with the daemon's own message. busctl prints the message but not
# the D-Bus error name, so Error#kind (ManagedByPolicy, AccessDenied, InvalidArgument, NotFound,
# NotRunning, Failed) is inferred from the message.

require 'json'
require 'open3'

module MdatpDbus
  BUS_NAME = 'com.microsoft.Mdatp1'
  ROOT_PATH = '/com/microsoft/Mdatp1'
  EXCLUSIONS_PATH = "#{ROOT_PATH}/Exclusions"
  SETTINGS_IFACE = "#{BUS_NAME}.Settings"
  HEALTH_IFACE = "#{BUS_NAME}.Health"
  EXCLUSIONS_IFACE = "#{BUS_NAME}.Exclusions"
  THREAT_TYPE_SETTING = 'antivirusEngine.threatTypeSettings'
  THREAT_TYPES = %w[potentially_unwanted_application archive_bomb].freeze
  THREAT_ACTIONS = %w[audit block off].freeze
  EXCLUSION_KINDS = %w[extension file folder process].freeze
  EXCLUSION_SCOPES = %w[epp global].freeze
  LIST_TYPES = %w[as a(ss) a(ssbas)].freeze
  DEFAULT_SCOPES = {
    'antivirusEngine.exclusions' => ['epp'],
    'exclusionSettings.exclusions' => ['global'],
  }.freeze
  EXCLUSION_FIELDS = {
    'excludedPath' => 'path',
    'excludedFileExtension' => 'extension',
    'excludedFileName' => 'name',
  }.freeze
  INT_TYPES = %w[y n q i u x t].freeze

  # A refusal or failure, with the daemon's message.
  class Error < StandardError
    attr_reader :kind

    def initialize(message, kind = nil)
      super(message)
      @kind = kind || MdatpDbus.classify(message)
    end
  end

  module_function

  def classify(message)
    case message
    when /managed by policy|from the managed policy|admin_only/i then 'ManagedByPolicy'
    when /access denied|requires administrator privileges|not authorized/i then 'AccessDenied'
    when /was not provided by any|not activatable|failed to connect to bus|no such name/i
      'NotRunning'
    when /no local exclusion|not found/i then 'NotFound'
    when /unknown setting|invalid value|invalid exclusion|unknown exclusion kind|takes a value of/i,
         /is not one of|out of range|not an absolute path|expected/i then 'InvalidArgument'
    else 'Failed'
    end
  end

  # busctl's path; MDATP_BUSCTL overrides it (for tests).
  def busctl_path
    ENV['MDATP_BUSCTL'] || 'busctl'
  end

  # Runs busctl --system --json=short ARGS; the parsed JSON reply, nil when there is none.
  def busctl(*args)
    # '--' ends busctl's options, so that a value such as "-5" is taken as an argument.
    out, err, status = Open3.capture3(busctl_path, '--system', '--json=short', '--', *args.map(&:to_s))
    unless status.success?
      message = err.strip.sub(/\ACall failed: /, '').sub(/\AFailed to get property \S+ on interface \S+: /, '')
      message = "busctl #{args.first} failed with exit status #{status.exitstatus}" if message.empty?
      raise Error, message
    end
    out.strip.empty? ? nil : JSON.parse(out)
  rescue Errno::ENOENT
    raise Error.new("#{busctl_path} is not installed (it comes with systemd)", 'NotRunning')
  end

  def call(path, iface, method, signature = nil, *args)
    argv = ['call', BUS_NAME, path, iface, method]
    argv += [signature, *args] if signature && !signature.empty?
    busctl(*argv)
  end

  # -- signatures and values -------------------------------------------------------------

  # 'sa(ss)b' -> ['s', 'a(ss)', 'b']
  def split_signature(sig)
    out = []
    i = 0
    while i < sig.length
      j = complete_type_end(sig, i)
      out << sig[i...j]
      i = j
    end
    out
  end

  def complete_type_end(sig, i)
    c = sig[i]
    return complete_type_end(sig, i + 1) if c == 'a'
    return i + 1 unless ['(', '{'].include?(c)

    depth = 0
    (i...sig.length).each do |j|
      depth += 1 if ['(', '{'].include?(sig[j])
      depth -= 1 if [')', '}'].include?(sig[j])
      return j + 1 if depth.zero?
    end
    raise ArgumentError, "bad D-Bus signature #{sig.inspect}"
  end

  # busctl's JSON for a value of signature sig -> canonical Ruby value.
  def from_json(sig, data)
    if sig.start_with?('a{')
      kv = split_signature(sig[2..-2])
      data.each_with_object({}) { |(k, v), h| h[from_json(kv[0], k)] = from_json(kv[1], v) }
    elsif sig.start_with?('a')
      data.map { |v| from_json(sig[1..], v) }
    elsif sig.start_with?('(')
      split_signature(sig[1..-2]).zip(data).map { |s, v| from_json(s, v) }
    elsif sig == 'v'
      from_json(data['type'], data['data'])
    else
      data
    end
  end

  # Canonical value -> busctl's command-line arguments for signature sig.
  def encode(sig, value)
    case sig[0]
    when 'b' then [value ? 'true' : 'false']
    when '('
      split_signature(sig[1..-2]).zip(value).flat_map { |s, v| encode(s, v) }
    when 'a'
      if sig.start_with?('a{')
        kv = split_signature(sig[2..-2])
        [value.size.to_s] + value.flat_map { |k, v| encode(kv[0], k) + encode(kv[1], v) }
      else
        [value.size.to_s] + value.flat_map { |v| encode(sig[1..], v) }
      end
    else [value.to_s]
    end
  end

  def coerce_bool(value, what)
    return value if [true, false].include?(value)
    return value == 1 if [0, 1].include?(value)
    if value.is_a?(String) || value.is_a?(Symbol)
      v = value.to_s.strip.downcase
      return true if %w[true yes on 1 enabled].include?(v)
      return false if %w[false no off 0 disabled].include?(v)
    end
    raise Error.new("#{what} takes a boolean (true/false), not #{value.inspect}", 'InvalidArgument')
  end

  def coerce_int(value, what)
    return value if value.is_a?(Integer)
    return value.to_i if value.is_a?(Float) && value == value.to_i
    return Integer(value.strip, 10) if value.is_a?(String) && value.strip =~ /\A[-+]?\d+\z/

    raise Error.new("#{what} takes an integer, not #{value.inspect}", 'InvalidArgument')
  end

  def coerce_str(value, what)
    return value if value.is_a?(String)
    return '' if value.nil?
    return value.to_s if value.is_a?(Symbol) || value.is_a?(Numeric)

    raise Error.new("#{what} takes a string, not #{value.inspect}", 'InvalidArgument')
  end

  def coerce_list(value, what)
    return [] if value.nil?
    return value if value.is_a?(Array)

    raise Error.new("#{what} takes a list, not #{value.inspect}", 'InvalidArgument')
  end

  # a(ss): {k => v}, [{"key" => k, "value" => v}], [[k, v]] (or a list of such hashes).
  def coerce_pairs(value, what)
    items = value.is_a?(Hash) ? [value] : coerce_list(value, what)
    items.flat_map do |item|
      if item.is_a?(Hash) && item.keys.map(&:to_s).sort == %w[key value]
        h = item.transform_keys(&:to_s)
        [[coerce_str(h['key'], what), coerce_str(h['value'], what)]]
      elsif item.is_a?(Hash)
        item.map { |k, v| [coerce_str(k, what), coerce_str(v, what)] }
      elsif item.is_a?(Array) && item.size == 2
        [[coerce_str(item[0], what), coerce_str(item[1], what)]]
      else
        raise Error.new("#{what}: entries are {key, value}, not #{item.inspect}", 'InvalidArgument')
      end
    end
  end

  def coerce_exclusions(value, what, name)
    default_scopes = DEFAULT_SCOPES.fetch(name, [])
    coerce_list(value, what).map do |item|
      entry =
        if item.is_a?(Hash)
          h = item.transform_keys(&:to_s)
          type = coerce_str(h['$type'], what)
          field = EXCLUSION_FIELDS[type]
          unless field
            raise Error.new("#{what}: '$type' must be one of #{EXCLUSION_FIELDS.keys.sort.join(', ')}, " \
                            "got #{type.inspect}", 'InvalidArgument')
          end
          raise Error.new("#{what}: a #{type} entry needs '#{field}'", 'InvalidArgument') unless h.key?(field)

          [type, coerce_str(h[field], what), coerce_bool(h.fetch('isDirectory', false), what),
           coerce_list(h['scopes'], what).map { |s| coerce_str(s, what) }]
        elsif item.is_a?(Array) && item.size == 4
          [coerce_str(item[0], what), coerce_str(item[1], what), coerce_bool(item[2], what),
           coerce_list(item[3], what).map { |s| coerce_str(s, what) }]
        else
          raise Error.new("#{what}: entries are mdatp_managed.json exclusion objects, not #{item.inspect}",
                          'InvalidArgument')
        end
      entry[3] = default_scopes.dup if entry[3].empty?
      entry
    end
  end

  # A manifest's or recipe's value -> canonical value of signature sig.
  def coerce(sig, value, name = 'value')
    what = "'#{name}' (D-Bus type #{sig})"
    case sig
    when 'b' then coerce_bool(value, what)
    when *INT_TYPES then coerce_int(value, what)
    when 's', 'o' then coerce_str(value, what)
    when 'as'
      (value.is_a?(String) ? [value] : coerce_list(value, what)).map { |v| coerce_str(v, what) }
    when 'a(ss)' then coerce_pairs(value, what)
    when 'a(ssbas)' then coerce_exclusions(value, what, name)
    else raise Error.new("#{what}: values of D-Bus type #{sig} are not supported", 'InvalidArgument')
    end
  end

  # Comparable form: lists whose order carries no meaning are sorted.
  def normalize(sig, value, name = '')
    case sig
    when 'as', 'a(ss)' then value.sort
    when 'a(ssbas)'
      value.map { |t, v, d, s| [t, v, d ? true : false, (s.empty? ? DEFAULT_SCOPES.fetch(name, []) : s).sort] }
           .sort_by(&:to_s)
    else value
    end
  end

  def equal?(sig, a, b, name = '')
    normalize(sig, a, name) == normalize(sig, b, name)
  end

  # Canonical value -> the mdatp_managed.json shape (for reports).
  def friendly(sig, value)
    case sig
    when 'a(ss)' then value.map { |k, v| { 'key' => k, 'value' => v } }
    when 'a(ssbas)'
      value.map do |type, v, dir, scopes|
        entry = { '$type' => type, EXCLUSION_FIELDS.fetch(type, 'value') => v }
        entry['isDirectory'] = dir if type == 'excludedPath'
        entry.merge('scopes' => scopes)
      end
    else value
    end
  end

  # -- settings ----------------------------------------------------------------------------

  # [signature, canonical value] of a setting's effective value.
  def get(name)
    variant = call(ROOT_PATH, SETTINGS_IFACE, 'Get', 's', name)['data'][0]
    [variant['type'], from_json(variant['type'], variant['data'])]
  end

  def signature(name)
    get(name)[0]
  end

  # {name => {'type', 'value', 'managed', 'source'}} for every setting.
  def list_settings
    call(ROOT_PATH, SETTINGS_IFACE, 'List')['data'][0].each_with_object({}) do |(name, v, managed, source), h|
      h[name] = { 'type' => v['type'], 'value' => from_json(v['type'], v['data']),
                  'managed' => managed, 'source' => source }
    end
  end

  # One setting's entry; Error(InvalidArgument) with the daemon's text for an unknown name.
  def setting(name)
    entry = list_settings[name]
    return entry if entry

    get(name) # raises the daemon's "Unknown setting" error
    raise Error.new("Unknown setting '#{name}'", 'InvalidArgument')
  end

  # What a resource needs to load its current value: the effective value, its signature, and
  # whether there is a local value that Reset would remove.
  def current_setting(name)
    e = setting(name)
    { name: name, type: e['type'], value: e['value'], managed: e['managed'], source: e['source'],
      local: %w[local merged].include?(e['source']) }
  end

  # Whether the setting's effective value is already value (typed comparison).
  def setting_in_sync?(name, value, current = nil)
    current ||= current_setting(name)
    equal?(current[:type], current[:value], coerce(current[:type], value, name), name)
  end

  # Sets the local value (any accepted form), with the setting's own signature.
  def set(name, value)
    sig = signature(name)
    canonical = coerce(sig, value, name)
    call(ROOT_PATH, SETTINGS_IFACE, 'Set', 'sv', name, sig, *encode(sig, canonical))
    canonical
  end

  def reset(name)
    call(ROOT_PATH, SETTINGS_IFACE, 'Reset', 's', name)
  end

  # -- threat type policy --------------------------------------------------------------------

  # {threat type => action} in effect.
  def threat_policy
    get(THREAT_TYPE_SETTING)[1].to_h
  end

  # Sets one threat type's action, keeping the others as they are in effect; raises
  # Error(ManagedByPolicy) when the managed policy keeps another action for that type.
  def set_threat_policy(type, action)
    type = type.to_s
    action = action.to_s
    unless THREAT_TYPES.include?(type)
      raise Error.new("Unknown threat type '#{type}': expected #{THREAT_TYPES.join(' or ')}", 'InvalidArgument')
    end
    unless THREAT_ACTIONS.include?(action)
      raise Error.new("Unknown threat action '#{action}': expected #{THREAT_ACTIONS.join(', ')}", 'InvalidArgument')
    end

    current = threat_policy
    current[type] = action
    set(THREAT_TYPE_SETTING, current.to_a)
    after = threat_policy
    if after[type] != action
      raise Error.new("The threat type '#{type}' is managed by policy ('#{health_property('ManagedPolicyPath')}') " \
                      "with action '#{after[type]}'; the local action '#{action}' does not apply; change it " \
                      'in that file', 'ManagedByPolicy')
    end
    after
  end

  # -- exclusions ------------------------------------------------------------------------------

  # [{'kind', 'value', 'scope', 'managed'}] in effect.
  def exclusions
    call(EXCLUSIONS_PATH, EXCLUSIONS_IFACE, 'List')['data'][0].map do |kind, value, scope, managed|
      { 'kind' => kind, 'value' => value, 'scope' => scope, 'managed' => managed }
    end
  end

  def find_exclusion(kind, value, scope = 'epp')
    exclusions.find { |e| e['kind'] == kind.to_s && e['value'] == value.to_s && e['scope'] == scope.to_s }
  end

  def exclusion_add(kind, value, scope = 'epp')
    call(EXCLUSIONS_PATH, EXCLUSIONS_IFACE, 'Add', 'sss', kind, value, scope)
  end

  def exclusion_remove(kind, value, scope = 'epp')
    call(EXCLUSIONS_PATH, EXCLUSIONS_IFACE, 'Remove', 'sss', kind, value, scope)
  end

  # -- managed policy ------------------------------------------------------------------------

  # Dotted setting names a managed-policy hash sets, among the known names.
  def flatten_policy(policy, known, prefix = '')
    return [] unless policy.is_a?(Hash)

    names = policy.flat_map do |key, value|
      dotted = "#{prefix}#{key}"
      if known.include?(dotted) then [dotted]
      elsif value.is_a?(Hash) then flatten_policy(value, known, "#{dotted}.")
      else []
      end
    end
    legacy = policy['antivirusEngine'] || policy[:antivirusEngine]
    if prefix.empty? && legacy.is_a?(Hash) &&
       (legacy.key?('enableRealTimeProtection') || legacy.key?('passiveMode')) &&
       known.include?('antivirusEngine.enforcementLevel')
      names |= ['antivirusEngine.enforcementLevel']
    end
    names
  end

  # Settings of a managed policy that the daemon does not show as managed yet ([] = applied).
  def policy_pending(policy)
    entries = list_settings
    flatten_policy(policy, entries.keys).reject { |n| entries[n]['managed'] }.sort
  end

  # -- health ----------------------------------------------------------------------------------

  # Every Health property, by its D-Bus name.
  def health
    call(ROOT_PATH, 'org.freedesktop.DBus.Properties', 'GetAll', 's', HEALTH_IFACE)['data'][0]
      .transform_values { |v| from_json(v['type'], v['data']) }
  end

  def health_property(name)
    v = busctl('get-property', BUS_NAME, ROOT_PATH, HEALTH_IFACE, name)
    from_json(v['type'], v['data'])
  end
end

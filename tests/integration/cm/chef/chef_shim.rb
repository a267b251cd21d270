# frozen_string_literal: true

# SPDX-License-Identifier: GPL-2.0-or-later
#
# A deliberately small stand-in for Chef's custom-resource DSL, so that the cookbook's
# resources/*.rb can run against the real daemon where Chef cannot be installed (it is not in
# Debian). It implements only what those files use: provides, unified_mode, description,
# property (name_property, default, equal_to, required), load_current_value with
# current_value_does_not_exist!, property_is_set?, action, converge_if_changed and converge_by.
# It is not Chef: it checks our resource code paths, not Chef's behaviour.

module ChefShim
  class DoesNotExist < StandardError; end

  class ValidationFailed < StandardError; end

  # A resource class built from a resources/*.rb file.
  class Resource
    class << self
      attr_reader :resource_name, :properties, :actions, :load_block, :name_property

      def load_file(path)
        klass = Class.new(self)
        klass.instance_variable_set(:@properties, {})
        klass.instance_variable_set(:@actions, {})
        klass.class_eval(File.read(path), path)
        klass
      end

      def provides(name) = (@resource_name = name)
      def unified_mode(_on) = nil
      def description(_text) = nil

      def property(name, _types = nil, **opts)
        @properties[name] = opts
        @name_property = name if opts[:name_property]
        define_method(name) do |*args|
          if args.empty?
            return @values.fetch(name) { opts.key?(:default) ? opts[:default] : (opts[:name_property] ? @name : nil) }
          end

          value = args.first
          if opts[:equal_to] && !opts[:equal_to].include?(value)
            raise ValidationFailed, "#{name} must be one of #{opts[:equal_to].join(', ')}, not #{value.inspect}"
          end

          @values[name] = value
        end
      end

      def load_current_value(&block) = (@load_block = block)
      def action(name, &block) = (@actions[name] = block)
    end

    attr_reader :name

    def initialize(name)
      @name = name
      @values = {}
    end

    def property_is_set?(prop) = @values.key?(prop)
    def current_value_does_not_exist! = raise(DoesNotExist)

    # Runs an action like Chef's resource_collection would; true when the resource was updated.
    def run_action(action_name)
      self.class.properties.each do |prop, opts|
        raise ValidationFailed, "#{prop} is required" if opts[:required] && !property_is_set?(prop)
      end
      ActionContext.new(self, load_current).run(self.class.actions.fetch(action_name))
    end

    private

    def load_current
      return self unless self.class.load_block

      current = self.class.new(@name)
      current.instance_exec(self, &self.class.load_block)
      current
    rescue DoesNotExist
      nil
    end
  end

  # What an action block sees.
  class ActionContext
    attr_reader :new_resource, :current_resource, :converged

    def initialize(new_resource, current_resource)
      @new_resource = new_resource
      @current_resource = current_resource
      @converged = []
    end

    def run(block)
      instance_exec(&block)
      !@converged.empty?
    end

    def description(_text) = nil

    def converge_by(message)
      yield
      @converged << message
    end

    def converge_if_changed(*props)
      props = new_resource.class.properties.keys if props.empty?
      changed = props.select do |p|
        new_resource.property_is_set?(p) &&
          (current_resource.nil? || current_resource.public_send(p) != new_resource.public_send(p))
      end
      return if changed.empty?

      converge_by("update #{changed.join(', ')}") { yield }
    end
  end
end

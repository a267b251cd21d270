{#- SPDX-License-Identifier: GPL-2.0-or-later
    mdatp: install the package, write mdatp_managed.json from pillar, run the service, wait for
    the daemon to apply the policy, then local settings and exclusions over D-Bus.
    Pillar: see pillar.example next to this file. Needs the custom modules: saltutil.sync_all. -#}
{%- set mdatp = salt['pillar.get']('mdatp', {}) %}
{%- set managed_dir = mdatp.get('managed_dir', '/etc/opt/microsoft/mdatp/managed') %}
{%- set install = mdatp.get('install', True) %}
{%- set manage_service = mdatp.get('manage_service', True) %}

{%- if install %}
{%- if mdatp.get('apt_source') %}
mdatp-repository:
  pkgrepo.managed:
    - name: {{ mdatp.apt_source | tojson }}
    - file: /etc/apt/sources.list.d/mdatp.list
{%- endif %}
mdatp-package:
  pkg.installed:
{%- if mdatp.get('apt_source') %}
    - name: {{ mdatp.get('package', 'mdatp') | tojson }}
    - refresh: true
    - require:
      - pkgrepo: mdatp-repository
{%- elif mdatp.get('package_path') %}
    - sources:
      - mdatp: {{ mdatp.package_path | tojson }}
{%- else %}
    - name: {{ mdatp.get('package', 'mdatp') | tojson }}
{%- endif %}
{%- endif %}

mdatp-managed-dir:
  file.directory:
    - name: {{ managed_dir | tojson }}
    - user: root
    - group: root
    - mode: '0755'
    - makedirs: true

mdatp-managed-policy:
  file.serialize:
    - name: {{ (managed_dir ~ '/mdatp_managed.json') | tojson }}
    - dataset: {{ mdatp.get('managed_policy', {}) | tojson }}
    - serializer: json
    - user: root
    - group: root
    - mode: '0644'
    - require:
      - file: mdatp-managed-dir
{%- if install %}
      - pkg: mdatp-package
{%- endif %}

{%- if manage_service %}
mdatp-service:
  service.running:
    - name: {{ mdatp.get('service', 'mdatp') | tojson }}
    - enable: true
    - require:
      - file: mdatp-managed-policy
{%- if install %}
    - watch:
      - pkg: mdatp-package
{%- endif %}
{%- endif %}

{#- The daemon watches the policy file and applies it by itself: no restart, just wait. #}
mdatp-policy-applied:
  mdatp_setting.policy_applied:
    - timeout: {{ mdatp.get('policy_timeout', 30) | tojson }}
    - require:
      - file: mdatp-managed-policy
{%- if manage_service %}
      - service: mdatp-service
{%- endif %}

{%- for name, value in mdatp.get('settings', {}) | dictsort %}
mdatp-setting-{{ name }}:
  mdatp_setting.present:
    - name: {{ name | tojson }}
    - value: {{ value | tojson }}
    - require:
      - mdatp_setting: mdatp-policy-applied
{%- endfor %}

{%- for e in mdatp.get('exclusions', []) %}
mdatp-exclusion-{{ e.kind }}-{{ e.get('scope', 'epp') }}-{{ e.value }}:
  mdatp_exclusion.{{ 'absent' if e.get('absent') else 'present' }}:
    - name: {{ e.value | tojson }}
    - kind: {{ e.kind | tojson }}
    - scope: {{ e.get('scope', 'epp') | tojson }}
    - require:
      - mdatp_setting: mdatp-policy-applied
{%- endfor %}

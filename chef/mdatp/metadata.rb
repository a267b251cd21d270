# frozen_string_literal: true

name 'mdatp'
maintainer 'mdatp project'
license 'GPL-2.0-or-later'
description 'Installs mdatp, writes mdatp_managed.json, runs the service, and manages settings, ' \
            'exclusions and threat policy over D-Bus (com.microsoft.Mdatp1)'
version '1.0.0'
chef_version '>= 16.0'
supports 'debian'
supports 'ubuntu'
supports 'redhat'

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The D-Bus contract shared by mdatpd and its clients: names, paths, interfaces, polkit actions
 * and the named errors with their errno map (register it with sd_bus_error_add_map() so that
 * sd_bus_error_get_errno() gives a meaningful errno on both sides).
 */
#pragma once

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>

#include "util/macro.h"

#define MDATP_BUS_NAME "com.microsoft.Mdatp1"
/* Every object path of the daemon is spelled here and nowhere else (tests/docs/test-bus-paths.sh
 * fails on a path literal in any other C file). */
#define MDATP_OBJECT_ROOT "/com/microsoft/Mdatp1"
#define MDATP_OBJECT_DIAGNOSTICS MDATP_OBJECT_ROOT "/Diagnostics"
#define MDATP_OBJECT_SCANS MDATP_OBJECT_ROOT "/Scans"
#define MDATP_OBJECT_THREATS MDATP_OBJECT_ROOT "/Threats"
#define MDATP_OBJECT_EXCLUSIONS MDATP_OBJECT_ROOT "/Exclusions"
#define MDATP_OBJECT_DEFINITIONS MDATP_OBJECT_ROOT "/Definitions"
#define MDATP_OBJECT_RTP MDATP_OBJECT_ROOT "/RealTimeProtection"
/* One object per scan the daemon remembers: MDATP_OBJECT_SCAN_PREFIX followed by the scan's id. */
#define MDATP_OBJECT_SCAN_PREFIX MDATP_OBJECT_SCANS "/"

#define MDATP_IFACE_HEALTH "com.microsoft.Mdatp1.Health"
#define MDATP_IFACE_SETTINGS "com.microsoft.Mdatp1.Settings"
#define MDATP_IFACE_DIAGNOSTICS "com.microsoft.Mdatp1.Diagnostics"
#define MDATP_IFACE_SCAN_MANAGER "com.microsoft.Mdatp1.ScanManager"
#define MDATP_IFACE_SCAN "com.microsoft.Mdatp1.Scan"
#define MDATP_IFACE_THREATS "com.microsoft.Mdatp1.Threats"
#define MDATP_IFACE_EXCLUSIONS "com.microsoft.Mdatp1.Exclusions"
#define MDATP_IFACE_DEFINITIONS "com.microsoft.Mdatp1.Definitions"
#define MDATP_IFACE_RTP "com.microsoft.Mdatp1.RealTimeProtection"

#define MDATP_POLKIT_MANAGE_SETTINGS "com.microsoft.mdatp1.manage-settings"
#define MDATP_POLKIT_MANAGE_EXCLUSIONS "com.microsoft.mdatp1.manage-exclusions"
#define MDATP_POLKIT_MANAGE_THREATS "com.microsoft.mdatp1.manage-threats"
#define MDATP_POLKIT_SCAN "com.microsoft.mdatp1.scan"
#define MDATP_POLKIT_UPDATE_DEFINITIONS "com.microsoft.mdatp1.update-definitions"
#define MDATP_POLKIT_DIAGNOSTICS "com.microsoft.mdatp1.diagnostics"
#define MDATP_POLKIT_READ_DETAILS "com.microsoft.mdatp1.read-details"

#define MDATP_ERROR_MANAGED_BY_POLICY "com.microsoft.Mdatp1.Error.ManagedByPolicy"
#define MDATP_ERROR_INVALID_ARGUMENT "com.microsoft.Mdatp1.Error.InvalidArgument"
#define MDATP_ERROR_NOT_FOUND "com.microsoft.Mdatp1.Error.NotFound"
#define MDATP_ERROR_BUSY "com.microsoft.Mdatp1.Error.Busy"
#define MDATP_ERROR_ACTION_DISALLOWED "com.microsoft.Mdatp1.Error.ActionDisallowed"
#define MDATP_ERROR_UNAVAILABLE "com.microsoft.Mdatp1.Error.Unavailable"

/* The object path of scan `id` fits a buffer of this size (the prefix, 10 digits, NUL). */
#define MDATP_OBJECT_SCAN_PATH_MAX (sizeof(MDATP_OBJECT_SCAN_PREFIX) + 10)
/* Formats the object path of scan `id` into buf; returns buf. */
static inline const char *mdatp_scan_object_path(uint32_t id, char buf[static MDATP_OBJECT_SCAN_PATH_MAX]) {
        (void) snprintf(buf, MDATP_OBJECT_SCAN_PATH_MAX, MDATP_OBJECT_SCAN_PREFIX "%" PRIu32, id);
        return buf;
}

/* Each binary includes this once; the table is small. */
static const sd_bus_error_map mdatp_bus_error_map[] _unused_ = {
        SD_BUS_ERROR_MAP(MDATP_ERROR_MANAGED_BY_POLICY, EROFS),
        SD_BUS_ERROR_MAP(MDATP_ERROR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(MDATP_ERROR_NOT_FOUND, ENOENT),
        SD_BUS_ERROR_MAP(MDATP_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(MDATP_ERROR_ACTION_DISALLOWED, EPERM),
        SD_BUS_ERROR_MAP(MDATP_ERROR_UNAVAILABLE, ENODEV),
        SD_BUS_ERROR_MAP_END
};

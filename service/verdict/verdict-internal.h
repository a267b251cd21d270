/* SPDX-License-Identifier: GPL-2.0-or-later */
/* For the module's tests and fuzz target only. */
#pragma once

#include "verdict/verdict.h"

/* verdict_cache_load() over bytes already in memory (the file's whole content). */
int verdict_cache_load_data(VerdictCache *c, const void *data, size_t size);

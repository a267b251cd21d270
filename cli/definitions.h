/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mdatp definitions update|restore and mdatp connectivity test. */
#pragma once

#include "args.h"

extern const CliVerb definitions_verbs[];
extern const CliVerb connectivity_verbs[];

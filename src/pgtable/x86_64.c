/* SPDX-License-Identifier: MIT */
/* The page-table engine instantiated for the x86_64 format. */
#include "formats/x86_64.h"
#define NS(x) _iopt_pt_x86_64_##x
#include "pgtable/engine.h"

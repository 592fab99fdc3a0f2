/* SPDX-License-Identifier: MIT */
/* The page-table engine instantiated for the amd_v1 format. */
#include "formats/amd_v1.h"
#define NS(x) _iopt_pt_amdv1_##x
#include "pgtable/engine.h"

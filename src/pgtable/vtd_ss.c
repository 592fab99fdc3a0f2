/* SPDX-License-Identifier: MIT */
/* The page-table engine instantiated for the vtd_ss format. */
#include "formats/vtd_ss.h"
#define NS(x) _iopt_pt_vtdss_##x
#include "pgtable/engine.h"

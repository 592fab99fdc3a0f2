/* SPDX-License-Identifier: MIT */
/* The page-table engine instantiated for ARM LPAE stage 1, 4k granule. */
#define LPAE_STAGE 1
#define LPAE_GRANULE 12
#include "formats/lpae.h"
#define NS(x) _iopt_pt_lpae_s1_4k_##x
#include "pgtable/engine.h"

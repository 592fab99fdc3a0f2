/* SPDX-License-Identifier: MIT */
/* The page-table engine instantiated for ARM LPAE stage 2, 64k granule. */
#define LPAE_STAGE 2
#define LPAE_GRANULE 16
#include "formats/lpae.h"
#define NS(x) _iopt_pt_lpae_s2_64k_##x
#include "pgtable/engine.h"

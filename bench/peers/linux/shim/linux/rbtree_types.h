/* SPDX-License-Identifier: MIT */
/* The kernel header of this name, extracted flat into the build directory. */
#include <rbtree_types.h>

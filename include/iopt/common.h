/* SPDX-License-Identifier: MIT */
/*
 * iopt common definitions: the export macro and the error convention.
 *
 * Error convention (every call that can fail): return 0 (or a non-negative
 * count) on success and a negative errno on failure. On failure the object
 * the call was given is left exactly as it was: nothing leaked, nothing
 * half-done. The codes keep one meaning across the library:
 *
 *   -EINVAL   an argument is malformed (zero size, bad power of two,
 *             limit below the space, misaligned value).
 *   -ERANGE   an argument lies outside the object's configured space.
 *   -ENOENT   the object holds no such thing (free of a range that is not
 *             allocated, double free, lookup miss).
 *   -EBUSY    the request conflicts with something live (reserving over a
 *             live allocation).
 *   -ENOMEM   out of space in the object, or out of host memory.
 *   -EOPNOTSUPP well-formed, but the hardware does not advertise what it
 *             needs (a capability register bit: VT-d CAP/ECAP, AMD EFR,
 *             SMMU IDR0..5) or the object was configured without it (dirty
 *             tracking on a table without IOPT_PT_F_HW_DIRTY).
 *   -EFAULT   an internal consistency check failed (corruption detected).
 */
#ifndef IOPT_COMMON_H
#define IOPT_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(IOPT_BUILDING)
#define IOPT_API __attribute__((visibility("default")))
#else
#define IOPT_API
#endif

#ifdef __cplusplus
#define IOPT_BEGIN_DECLS extern "C" {
#define IOPT_END_DECLS }
#else
#define IOPT_BEGIN_DECLS
#define IOPT_END_DECLS
#endif

#endif /* IOPT_COMMON_H */

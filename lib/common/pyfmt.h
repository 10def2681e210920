/* Python-compatible number formatting, for text the reference builds with
 * str(): prompt headers and clip timestamps must match it byte for byte. */
#ifndef APOLLO_PYFMT_H
#define APOLLO_PYFMT_H

#include <stddef.h>

/* repr(float(v)) / str(v): the shortest digits that round-trip, fixed
 * notation for 1e-4 <= |v| < 1e16 (always with a ".0" when integral),
 * otherwise "1e-05" style.  Also "inf", "-inf", "nan". */
void apollo__py_float_repr(double v, char *buf, size_t cap);

#endif

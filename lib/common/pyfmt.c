#include "pyfmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void apollo__py_float_repr(double v, char *buf, size_t cap)
{
    char tmp[64], digits[32];
    int prec, exp10, nd = 0;
    const char *p;
    size_t off = 0;

    if (isnan(v)) {
        snprintf(buf, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, cap, v < 0 ? "-inf" : "inf");
        return;
    }
    if (v == 0) {
        snprintf(buf, cap, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    /* Shortest %.Ne that parses back to the same double. */
    for (prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    /* tmp = [-]d[.ddd]e[+-]XX */
    p = tmp;
    if (*p == '-')
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    digits[nd] = '\0';
    exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';

    char out[64];
    if (v < 0)
        out[off++] = '-';
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            out[off++] = '0';
            out[off++] = '.';
            for (int i = 0; i < -exp10 - 1; i++)
                out[off++] = '0';
            for (int i = 0; i < nd; i++)
                out[off++] = digits[i];
        } else {
            for (int i = 0; i <= exp10; i++)
                out[off++] = i < nd ? digits[i] : '0';
            out[off++] = '.';
            if (nd > exp10 + 1)
                for (int i = exp10 + 1; i < nd; i++)
                    out[off++] = digits[i];
            else
                out[off++] = '0';
        }
        out[off] = '\0';
    } else {
        out[off++] = digits[0];
        if (nd > 1) {
            out[off++] = '.';
            for (int i = 1; i < nd; i++)
                out[off++] = digits[i];
        }
        snprintf(out + off, sizeof out - off, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
    snprintf(buf, cap, "%s", out);
}

/*
 * The wire constants of the key format for the compiled twin, as compile-time constants.
 * _wire.py defines them for Python; _core_c.pyx refuses to import if any value here differs.
 */
#ifndef APIKEE_WIRE_H
#define APIKEE_WIRE_H

#define APIKEE_PREFIX "apikee_"
#define APIKEE_PREFIX_LEN 7
#define APIKEE_MAX_TIMESTAMP 253402300799LL
#define APIKEE_DEFAULT_MAX_KEY_LENGTH 2048
#define APIKEE_SIGNATURE_BYTES 32
#define APIKEE_MAX_SIGNATURE_DIGITS 43

#endif

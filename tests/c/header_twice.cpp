/* The header check of header_twice.c, compiled as C++. */
#include "header_twice.c"

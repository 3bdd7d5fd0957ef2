#pragma once
// hiredis (Debian's libhiredis-dev, 0.14): RESP command formatting and the reply parser.
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

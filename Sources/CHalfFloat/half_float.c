// CHalfFloat is header-only (include/CHalfFloat.h); SwiftPM wants one source file per C target.
#include "CHalfFloat.h"

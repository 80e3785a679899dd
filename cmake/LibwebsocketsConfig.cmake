# libwebsockets CMake package configuration.
#
# Defines, as the original package does:
#   LIBWEBSOCKETS_INCLUDE_DIRS - include directories for libwebsockets
#   LIBWEBSOCKETS_LIBRARIES    - the imported targets to link against
# and the imported targets `websockets` (static) and `websockets_shared`.

get_filename_component(LWS_CMAKE_DIR "${CMAKE_CURRENT_LIST_FILE}" PATH)
# <prefix>/lib/cmake/libwebsockets -> <prefix>
get_filename_component(LWS_PREFIX "${LWS_CMAKE_DIR}/../../.." ABSOLUTE)

set(LIBWEBSOCKETS_INCLUDE_DIRS "${LWS_PREFIX}/include")

include("${LWS_CMAKE_DIR}/LibwebsocketsTargets.cmake")

set(LIBWEBSOCKETS_LIBRARIES websockets websockets_shared)

# Lets `find_package(libwebsockets)` (lower case) find the package too.
include("${CMAKE_CURRENT_LIST_DIR}/LibwebsocketsConfig.cmake")

# Imported targets of the libwebsockets package (included by
# LibwebsocketsConfig.cmake, which sets LWS_PREFIX).

if(NOT TARGET websockets_shared)
  add_library(websockets_shared SHARED IMPORTED)
  set_target_properties(websockets_shared PROPERTIES
    IMPORTED_LOCATION "${LWS_PREFIX}/lib/libwebsockets.so.8"
    IMPORTED_SONAME "libwebsockets.so.8"
    INTERFACE_INCLUDE_DIRECTORIES "${LWS_PREFIX}/include")
endif()

if(NOT TARGET websockets)
  add_library(websockets STATIC IMPORTED)
  set_target_properties(websockets PROPERTIES
    IMPORTED_LOCATION "${LWS_PREFIX}/lib/libwebsockets.a"
    INTERFACE_INCLUDE_DIRECTORIES "${LWS_PREFIX}/include"
    # What the Rust runtime inside the archive needs from the system.
    INTERFACE_LINK_LIBRARIES "ssl;crypto;uv;ev;z;gcc_s;util;rt;pthread;m;dl")
endif()

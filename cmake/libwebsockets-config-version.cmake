include("${CMAKE_CURRENT_LIST_DIR}/LibwebsocketsConfigVersion.cmake")

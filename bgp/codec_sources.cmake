# The message codec's sources, shared by ferry_bgp and the fuzz build in
# fuzz/, which compiles them again with the fuzzer's instrumentation.
set(FERRY_BGP_CODEC_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/message.cc
  ${CMAKE_CURRENT_LIST_DIR}/types.cc
  ${CMAKE_CURRENT_LIST_DIR}/update_codec.cc
  ${CMAKE_CURRENT_LIST_DIR}/wire.cc)

# The ONNX protobuf parser (library chamcc_onnxpb), generated at build time
# by protoc-c from Debian's onnx.proto; shared by the top-level build and
# the test folders that also build standalone (tests/graph, tests/fuzz).
find_program(PROTOC_C protoc-c REQUIRED)
find_file(ONNX_PROTO onnx.proto PATHS /usr/include/onnx NO_DEFAULT_PATH REQUIRED)
find_library(PROTOBUF_C_LIB protobuf-c REQUIRED)
set(PB_DIR ${CMAKE_BINARY_DIR}/onnxpb)
file(MAKE_DIRECTORY ${PB_DIR})
add_custom_command(
  OUTPUT ${PB_DIR}/onnx.pb-c.c ${PB_DIR}/onnx.pb-c.h
  COMMAND ${CMAKE_COMMAND} -E copy ${ONNX_PROTO} ${PB_DIR}/onnx.proto
  COMMAND ${PROTOC_C} --proto_path=${PB_DIR} --c_out=${PB_DIR} ${PB_DIR}/onnx.proto
  DEPENDS ${ONNX_PROTO}
  COMMENT "Generating the ONNX parser with protoc-c")
add_library(chamcc_onnxpb STATIC ${PB_DIR}/onnx.pb-c.c)
target_include_directories(chamcc_onnxpb PUBLIC ${PB_DIR})
target_link_libraries(chamcc_onnxpb PUBLIC ${PROTOBUF_C_LIB})
target_compile_options(chamcc_onnxpb PRIVATE -w)

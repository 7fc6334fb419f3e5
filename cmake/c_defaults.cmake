# C language level, warnings and the sanitizer switch shared by the
# top-level build and the test folders that also build standalone
# (tests/graph). Included after project().
set(CMAKE_C_STANDARD 11)
set(CMAKE_C_STANDARD_REQUIRED ON)
set(CMAKE_C_EXTENSIONS ON)
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE RelWithDebInfo)
endif()
add_compile_options(-Wall -Wextra -Wno-unused-parameter -Wno-sign-compare)

option(CHAMCC_SANITIZE "Build with AddressSanitizer and UBSan" OFF)
if(CHAMCC_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

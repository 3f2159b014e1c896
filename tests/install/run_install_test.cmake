# The installed package as another project sees it. Installs the built tree (static libraries)
# into a scratch prefix and checks what was installed (no -march, no absolute library path);
# builds the consumer project with -march=x86-64 and without CMAKE_CXX_STANDARD against it, and
# again with pkg-config only; then builds tapegrad's libraries as shared ones (BUILD_SHARED_LIBS,
# versioned), installs those and builds the consumer against them. Each consumer must run and
# print the expected numbers.
file(REMOVE_RECURSE ${WORK_DIR})

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE r OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(r)
    message(FATAL_ERROR "${what} failed (${r}):\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

function(check_consumer what program)
  run("running the ${what} consumer" ${program})
  message("${what}: ${last_output}")
  if(NOT last_output MATCHES "grad 6, Linear parameters 10, sum 3, version ")
    message(FATAL_ERROR "the ${what} consumer printed: ${last_output}")
  endif()
endfunction()

function(build_consumer what prefix)
  set(dir ${WORK_DIR}/consumer-${what})
  run("configuring the ${what} consumer" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install/consumer
      -B ${dir} -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
      -DCMAKE_CXX_FLAGS=-march=x86-64)
  run("building the ${what} consumer" ${CMAKE_COMMAND} --build ${dir})
  check_consumer(${what} ${dir}/consumer)
endfunction()

# 1. The static libraries of this build, and what the package says about itself.
set(prefix ${WORK_DIR}/prefix)
run("installing into ${prefix}" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
file(GLOB_RECURSE package_files ${prefix}/lib/cmake/*.cmake ${prefix}/lib/pkgconfig/*.pc)
foreach(file IN LISTS package_files)
  file(READ ${file} text)
  # -march belongs only to tapegrad::optimize, the target a program links when it asks for it
  # (as xtensor::optimize): the block that defines it is left out of this check.
  string(REGEX REPLACE "set_target_properties\\(tapegrad::optimize PROPERTIES[^)]*\\)" "" text "${text}")
  if(text MATCHES "-march")
    message(FATAL_ERROR "${file} pushes -march onto its users")
  endif()
  if(text MATCHES "[\"; ]/[^\"; ]*\\.(so|a)[\"; \n]")
    message(FATAL_ERROR "${file} names a library by its absolute path: ${CMAKE_MATCH_0}")
  endif()
endforeach()
build_consumer(static ${prefix})

# 2. pkg-config, without CMake.
find_program(PKG_CONFIG pkg-config REQUIRED)
set(ENV{PKG_CONFIG_PATH} "${prefix}/lib/pkgconfig")
run("pkg-config" ${PKG_CONFIG} --cflags --libs --static tapegrad)
string(STRIP "${last_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run("building the pkg-config consumer" c++ -O1 -march=x86-64
    ${SOURCE_DIR}/tests/install/consumer/main.cpp ${flags} -o ${WORK_DIR}/consumer-pc)
check_consumer(pkg-config ${WORK_DIR}/consumer-pc)

# 3. Shared libraries.
set(shared_prefix ${WORK_DIR}/prefix-shared)
run("configuring a shared build" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/shared
    -DBUILD_SHARED_LIBS=ON -DTAPEGRAD_BUILD_TESTS=OFF -DTAPEGRAD_BUILD_EXAMPLES=OFF
    -DTAPEGRAD_BUILD_BENCH=OFF -DTAPEGRAD_BUILD_CLI=OFF)
run("building the shared libraries" ${CMAKE_COMMAND} --build ${WORK_DIR}/shared -j 2)
run("installing the shared libraries" ${CMAKE_COMMAND} --install ${WORK_DIR}/shared
    --prefix ${shared_prefix})
file(GLOB versioned ${shared_prefix}/lib/libtapegrad_autodiff.so.*.*.*)
if(NOT versioned)
  message(FATAL_ERROR "no versioned libtapegrad_autodiff.so.X.Y.Z in ${shared_prefix}/lib")
endif()
build_consumer(shared ${shared_prefix})

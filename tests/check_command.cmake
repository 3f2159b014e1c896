# Runs a command and checks its exit status and its output (stdout and stderr together):
#   cmake -DSTATUS=2 "-DMATCHES=regex" [-DNOT_MATCHES=regex] [-DESCAPED=ON]
#         -P check_command.cmake -- CMD ARGS...
# ESCAPED: the output holds no raw control byte (a file's bytes are escaped in messages).
# ctest's PASS_REGULAR_EXPRESSION ignores the exit status and WILL_FAIL the message: a command
# line test needs both.
include(${CMAKE_CURRENT_LIST_DIR}/command_after_separator.cmake)
command_after_separator(command)
if(NOT command OR NOT DEFINED STATUS OR NOT DEFINED MATCHES)
  message(FATAL_ERROR "usage: cmake -DSTATUS=N -DMATCHES=regex -P check_command.cmake -- CMD ...")
endif()

execute_process(COMMAND ${command} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(NOT status STREQUAL "${STATUS}")
  message(FATAL_ERROR "exit status ${status}, expected ${STATUS}; the output:\n${all}")
endif()
if(NOT all MATCHES "${MATCHES}")
  message(FATAL_ERROR "the output does not match '${MATCHES}':\n${all}")
endif()
if(DEFINED NOT_MATCHES AND all MATCHES "${NOT_MATCHES}")
  message(FATAL_ERROR "the output matches '${NOT_MATCHES}', which it must not:\n${all}")
endif()
if(ESCAPED)
  foreach(code RANGE 1 31)
    if(NOT code EQUAL 10)  # a line end
      string(ASCII ${code} byte)
      string(FIND "${all}" "${byte}" at)
      if(NOT at EQUAL -1)
        message(FATAL_ERROR "the output holds the raw control byte ${code}:\n${all}")
      endif()
    endif()
  endforeach()
endif()
message(STATUS "exit status ${status}, the output matches")

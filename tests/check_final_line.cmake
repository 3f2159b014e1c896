# Runs a training command and compares the numbers of its "final:" line with the expected ones,
# to the printed precision give or take 2 in the last digit: builds with and without
# -march=native (and BLAS kernels of other CPUs) round differently, a real change moves more.
#   cmake -DEXPECTED="train_loss=0.0143 val_loss=0.7443" -P check_final_line.cmake -- CMD ARGS...
# -DPER_MILLE=N also allows N thousandths of the expected value, for a run whose result the
# order of the sums moves by more than its last digit (its caller says why).
# A number printed without a decimal point, or with another count of decimals than expected,
# must match exactly.
include(${CMAKE_CURRENT_LIST_DIR}/command_after_separator.cmake)
command_after_separator(command)
if(NOT command OR NOT EXPECTED)
  message(FATAL_ERROR "usage: cmake -DEXPECTED=\"k=v ...\" -P check_final_line.cmake -- CMD ...")
endif()

execute_process(COMMAND ${command} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "the command exited with ${status}:\n${out}${err}")
endif()
if(NOT out MATCHES "\nfinal: ([^\n]*)")
  message(FATAL_ERROR "no 'final:' line in the output:\n${out}")
endif()
set(final "${CMAKE_MATCH_1}")

# "0.7443" -> 7443 and its count of decimals (4); "1e-07" -> no decimals form.
function(fixed_point text out_int out_decimals)
  if(text MATCHES "^(-?)([0-9]+)\\.([0-9]+)$")
    string(LENGTH "${CMAKE_MATCH_3}" decimals)
    # math() reads "07400" as 7400 (a REGEX REPLACE of leading zeros would apply its "^" again
    # after each replacement, and overwrite CMAKE_MATCH_1, the sign).
    math(EXPR value "${CMAKE_MATCH_1}${CMAKE_MATCH_2}${CMAKE_MATCH_3}")
    set(${out_int} "${value}" PARENT_SCOPE)
    set(${out_decimals} ${decimals} PARENT_SCOPE)
  else()
    set(${out_decimals} "" PARENT_SCOPE)
  endif()
endfunction()

string(REPLACE " " ";" expected_pairs "${EXPECTED}")
foreach(pair IN LISTS expected_pairs)
  string(REGEX MATCH "^([^=]+)=(.+)$" _ "${pair}")
  set(key "${CMAKE_MATCH_1}")
  set(want "${CMAKE_MATCH_2}")
  if(NOT final MATCHES "(^| )${key}=([^ ]+)")
    message(FATAL_ERROR "${key} missing from the final line: ${final}")
  endif()
  set(got "${CMAKE_MATCH_2}")
  fixed_point("${want}" want_int want_decimals)
  fixed_point("${got}" got_int got_decimals)
  if(want_decimals STREQUAL "" OR NOT want_decimals STREQUAL got_decimals)
    set(close FALSE)
    if(want STREQUAL got)
      set(close TRUE)
    endif()
  else()
    math(EXPR diff "${got_int} - ${want_int}")
    set(allowed 2)
    if(PER_MILLE)
      math(EXPR scaled "${want_int} * ${PER_MILLE} / 1000")
      string(REGEX REPLACE "^-" "" scaled "${scaled}")
      if(scaled GREATER allowed)
        set(allowed ${scaled})
      endif()
    endif()
    set(close TRUE)
    if(diff GREATER allowed OR diff LESS -${allowed})
      set(close FALSE)
    endif()
  endif()
  if(NOT close)
    message(FATAL_ERROR "${key}=${got}, expected ${want} (within ${allowed} in the last digit)\n"
                        "final: ${final}\n${out}")
  endif()
endforeach()
message(STATUS "final: ${final}")

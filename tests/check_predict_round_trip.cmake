# train --save and --predictions, then predict with the saved model on the same file: the two
# prediction files must be equal byte for byte, and the metrics on all rows that both print
# ("569 rows: loss=... accuracy=...") equal to every printed digit.
#   cmake -DTAPEGRAD=bin/tapegrad -DWORK_DIR=dir -DDATA=file.csv -P check_predict_round_trip.cmake
#         -- TRAIN FLAGS (besides --data, --save and --predictions)
include(${CMAKE_CURRENT_LIST_DIR}/command_after_separator.cmake)
command_after_separator(train_flags)
if(NOT TAPEGRAD OR NOT WORK_DIR OR NOT DATA)
  message(FATAL_ERROR "usage: cmake -DTAPEGRAD=... -DWORK_DIR=... -DDATA=... -P "
                      "check_predict_round_trip.cmake -- TRAIN FLAGS")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(model ${WORK_DIR}/model.npz)
set(from_train ${WORK_DIR}/train_predictions.csv)
set(from_predict ${WORK_DIR}/predict_predictions.csv)

# The "N rows: ..." part of the line that starts with prefix in text.
function(summary_of text prefix out)
  if(NOT text MATCHES "(^|\n)${prefix}([0-9]+ rows: [^\n]+)")
    message(FATAL_ERROR "no '${prefix}N rows: METRICS' line in:\n${text}")
  endif()
  set(${out} "${CMAKE_MATCH_2}" PARENT_SCOPE)
endfunction()

execute_process(COMMAND ${TAPEGRAD} train --data ${DATA} ${train_flags} --save ${model}
                        --predictions ${from_train}
                RESULT_VARIABLE status OUTPUT_VARIABLE train_out ERROR_VARIABLE train_err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "train exited with ${status}:\n${train_out}${train_err}")
endif()
summary_of("${train_out}" "predictions: [^\n]*, " train_summary)

execute_process(COMMAND ${TAPEGRAD} predict --model ${model} --data ${DATA} --output ${from_predict}
                RESULT_VARIABLE status OUTPUT_VARIABLE predict_out ERROR_VARIABLE predict_err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "predict exited with ${status}:\n${predict_out}${predict_err}")
endif()
summary_of("${predict_out}" "tapegrad predict: " predict_summary)

if(NOT train_summary STREQUAL predict_summary)
  message(FATAL_ERROR "the metrics differ:\n  train:   ${train_summary}\n"
                      "  predict: ${predict_summary}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${from_train} ${from_predict}
                RESULT_VARIABLE differ)
if(NOT differ EQUAL 0)
  message(FATAL_ERROR "the predictions differ: ${from_train} and ${from_predict}")
endif()
file(STRINGS ${from_predict} lines)
list(LENGTH lines count)
message(STATUS "identical: ${count} lines of predictions; ${predict_summary}")

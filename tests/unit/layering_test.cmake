# tests/unit/layering_test.cmake
#
# Runs cmake/check_layering.cmake over one fixture tree (tests/fixtures/layering/) and checks its verdict, so that
# the build's layering check is known to pass a clean tree and to fail a wrong one with the right message.
#   cmake -DSRC_DIR=<tree>/src -DMODULES_FILE=<file> -DSTAMP=<scratch file> [-DEXPECT=<text>] -P layering_test.cmake
# Without EXPECT the check must succeed and touch STAMP; with EXPECT it must fail, print EXPECT (a literal string,
# not a regex) and leave no STAMP.
cmake_minimum_required(VERSION 3.25)

foreach(var SRC_DIR MODULES_FILE STAMP)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "layering_test: -D${var}=... is required")
  endif()
endforeach()
file(TOUCH "${STAMP}")  # must be gone after a failed check
if(NOT DEFINED EXPECT)
  file(REMOVE "${STAMP}")  # must be there after a successful one
endif()

execute_process(
  COMMAND ${CMAKE_COMMAND} -DSRC_DIR=${SRC_DIR} -DMODULES_FILE=${MODULES_FILE} -DSTAMP=${STAMP}
          -P ${CMAKE_CURRENT_LIST_DIR}/../../cmake/check_layering.cmake
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)

if(NOT DEFINED EXPECT)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the check failed on a clean tree (${SRC_DIR}), exit ${rc}:\n${out}")
  endif()
  if(NOT EXISTS "${STAMP}")
    message(FATAL_ERROR "the check passed but did not touch its stamp ${STAMP}")
  endif()
  message("passed, as expected")
  return()
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "the check passed on ${SRC_DIR}, which it must refuse with: ${EXPECT}\noutput:\n${out}")
endif()
string(FIND "${out}" "${EXPECT}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the check failed (exit ${rc}) but without the expected message\n  ${EXPECT}\noutput:\n${out}")
endif()
if(EXISTS "${STAMP}")
  message(FATAL_ERROR "the check failed but left its stamp ${STAMP} behind")
endif()
message("refused, as expected: ${EXPECT}")

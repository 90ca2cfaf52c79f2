# cmake/check_layering.cmake
#
# Fails when a source file includes a header of a module its own module may not use, so a wrong include fails the
# build before anything compiles (docs/architecture.md). Run by the build (CMakeLists.txt, target walferry_layering)
# and by the unit test layering.* over tests/fixtures/layering/:
#
#   cmake -DSRC_DIR=<dir> -DMODULES_FILE=<file> [-DSTAMP=<file>] -P cmake/check_layering.cmake
#
# MODULES_FILE: one module a line, lowest layer first, `name: dep dep ...` (the modules it uses directly; '#' starts
# a comment line). A dependency must be declared on an earlier line, so the layers cannot form a cycle.
# Rules, each failure printed on its own line (all of them, then one fatal error):
# - every directory of SRC_DIR is a declared module, and every declared module has its directory;
# - a file of module M may include "X/..." only when X is M or a dependency of M, direct or transitive;
# - a quoted include "X/..." whose X is not a module fails too (third-party headers are included with <...>).
# Not module includes: <...>, "generated/..." (build outputs) and quoted includes without a directory.
# On success, touches STAMP when given. Reads only; never changes SRC_DIR.
cmake_minimum_required(VERSION 3.25)

# Fails with the arguments, concatenated, as one unwrapped line (message(FATAL_ERROR) reflows its text).
# Messages of die() and fail() must not contain ';' (a list separator: ${ARGN} drops it).
function(die)
  string(CONCAT line "check_layering: " ${ARGN})
  message("${line}")
  message(FATAL_ERROR "check_layering: stopped (above)")
endfunction()

foreach(var SRC_DIR MODULES_FILE)
  if(NOT DEFINED ${var})
    die("-D${var}=... is required (usage at the top of ${CMAKE_CURRENT_LIST_FILE})")
  endif()
endforeach()
get_filename_component(src_dir "${SRC_DIR}" ABSOLUTE)
if(NOT IS_DIRECTORY "${src_dir}")
  die("SRC_DIR ${src_dir} is not a directory")
endif()
if(NOT EXISTS "${MODULES_FILE}")
  die("MODULES_FILE ${MODULES_FILE} does not exist")
endif()
if(DEFINED STAMP)
  file(REMOVE "${STAMP}")  # a failed check must not leave an old success behind
endif()
# Paths in messages are relative to SRC_DIR's parent: "src/load/loader.cc".
get_filename_component(src_parent "${src_dir}" DIRECTORY)
file(RELATIVE_PATH src_name "${src_parent}" "${src_dir}")

# Modules and, for each, allowed_<name>: every module it may use (its dependencies and theirs).
set(modules "")
file(STRINGS "${MODULES_FILE}" spec_lines)
foreach(line IN LISTS spec_lines)
  string(STRIP "${line}" line)
  if(line STREQUAL "" OR line MATCHES "^#")
    continue()
  endif()
  if(NOT line MATCHES "^([a-z_][a-z0-9_]*):(.*)$")
    die("${MODULES_FILE}: expected `module: dep dep ...`, got `${line}`")
  endif()
  set(name "${CMAKE_MATCH_1}")
  separate_arguments(deps UNIX_COMMAND "${CMAKE_MATCH_2}")
  if(name IN_LIST modules)
    die("${MODULES_FILE}: module ${name} is declared twice")
  endif()
  set(allowed "")
  foreach(dep IN LISTS deps)
    if(NOT dep IN_LIST modules)
      die("${MODULES_FILE}: module ${name} uses ${dep}, which is not declared before "
          "it (declare modules lowest layer first, so that no two can depend on each other)")
    endif()
    list(APPEND allowed ${dep} ${allowed_${dep}})
  endforeach()
  list(REMOVE_DUPLICATES allowed)
  list(SORT allowed)
  set(allowed_${name} ${allowed})
  list(APPEND modules ${name})
endforeach()

set(failures "")
# Records one failure; the arguments are concatenated into one line.
function(fail)
  string(CONCAT line ${ARGN})
  set(failures ${failures} "${line}" PARENT_SCOPE)
endfunction()

# Every directory is a declared module; nothing lies outside the modules.
file(GLOB entries LIST_DIRECTORIES true RELATIVE "${src_dir}" "${src_dir}/*")
list(SORT entries)
foreach(entry IN LISTS entries)
  if(IS_DIRECTORY "${src_dir}/${entry}")
    if(NOT entry IN_LIST modules)
      fail("${src_name}/${entry}/ is not a declared module: declare it, with the modules it uses, "
           "in the module list (walferry_module() in CMakeLists.txt)")
    endif()
  elseif(entry MATCHES "\\.(h|hh|hpp|c|cc|cpp|cxx)$")
    fail("${src_name}/${entry} belongs to no module: move it into a module directory")
  endif()
endforeach()
foreach(module IN LISTS modules)
  if(NOT IS_DIRECTORY "${src_dir}/${module}")
    fail("module ${module} is declared but ${src_name}/${module}/ does not exist")
  endif()
endforeach()

# Every quoted include of every source file of every module.
foreach(module IN LISTS modules)
  if(allowed_${module})
    list(JOIN allowed_${module} " " may_use)
  else()
    set(may_use "no other module")
  endif()
  file(GLOB_RECURSE files RELATIVE "${src_dir}" "${src_dir}/${module}/*")
  list(FILTER files INCLUDE REGEX "\\.(h|hh|hpp|inc|c|cc|cpp|cxx)$")
  list(SORT files)
  foreach(file IN LISTS files)
    file(STRINGS "${src_dir}/${file}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"[^\"]*\"")
    foreach(include IN LISTS includes)
      string(REGEX MATCH "\"([^\"]*)\"" _ "${include}")
      set(header "${CMAKE_MATCH_1}")
      if(NOT header MATCHES "^([^/]+)/")
        continue()  # same directory
      endif()
      set(used "${CMAKE_MATCH_1}")
      if(used STREQUAL "generated" OR used STREQUAL module OR used IN_LIST allowed_${module})
        continue()
      endif()
      if(used IN_LIST modules)
        fail("${src_name}/${file} includes \"${header}\": module ${module} may use only: ${may_use}")
      else()
        fail("${src_name}/${file} includes \"${header}\": ${used} is not a module (third-party "
             "headers are included with <...>)")
      endif()
    endforeach()
  endforeach()
endforeach()

if(failures)
  list(LENGTH failures count)
  foreach(failure IN LISTS failures)
    message("${failure}")  # unformatted, one a line, so that each can be read and grepped whole
  endforeach()
  message(FATAL_ERROR "module layering: ${count} problem(s) above. The modules and what each may use are declared in "
                      "${MODULES_FILE} (for walferry: the walferry_module() calls in CMakeLists.txt; "
                      "docs/architecture.md).")
endif()
if(DEFINED STAMP)
  file(TOUCH "${STAMP}")
endif()

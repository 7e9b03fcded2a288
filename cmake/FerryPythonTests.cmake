# ferry_python_tests(FILE PREFIX LABEL [ENVIRONMENT VAR=VALUE...]): one ctest
# test per test method of the unittest file FILE (in the calling folder),
# named PREFIX<Class>.<method>, listed from the file when CMake configures.
# The tests get FERRY_KUBECTL and FERRY_HELM where those were found.

# Debian's interpreter, the one that sees the python3-* packages (a python3
# earlier in PATH, such as a pyenv shim, would not).
find_program(FERRY_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH REQUIRED)

function(ferry_python_tests file prefix label)
  cmake_parse_arguments(PARSE_ARGV 3 arg "" "" "ENVIRONMENT")
  set(path ${CMAKE_CURRENT_SOURCE_DIR}/${file})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${path})
  file(STRINGS ${path} lines REGEX "^class [A-Za-z0-9_]+\\(|^    def test_[A-Za-z0-9_]+\\(")
  get_filename_component(module ${file} NAME_WE)
  set(environment PYTHONDONTWRITEBYTECODE=1 ${arg_ENVIRONMENT})
  foreach(tool IN ITEMS FERRY_KUBECTL FERRY_HELM)
    if(${tool})
      list(APPEND environment ${tool}=${${tool}})
    endif()
  endforeach()
  foreach(line IN LISTS lines)
    if(line MATCHES "^class ([A-Za-z0-9_]+)\\(")
      set(class ${CMAKE_MATCH_1})
    elseif(line MATCHES "def (test_[A-Za-z0-9_]+)\\(")
      set(name ${prefix}${class}.${CMAKE_MATCH_1})
      add_test(NAME ${name}
        COMMAND ${FERRY_PYTHON3} -m unittest -v ${module}.${class}.${CMAKE_MATCH_1}
        WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
      set_tests_properties(${name} PROPERTIES LABELS ${label} TIMEOUT 300
        ENVIRONMENT "${environment}")
    endif()
  endforeach()
endfunction()

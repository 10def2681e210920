# Tests that drive compilers, installed packages and programs rather than
# a single test executable.

# Header hygiene: apollo.h alone compiles as C99, C11 and C++17, pedantic.
foreach(std c99 c11)
  add_test(NAME header.${std}
    COMMAND ${CMAKE_C_COMPILER} -std=${std} -Wall -Wextra -Werror -pedantic -fsyntax-only
            -x c ${PROJECT_SOURCE_DIR}/include/apollo.h)
endforeach()
add_test(NAME header.cxx17
  COMMAND ${CMAKE_CXX_COMPILER} -std=c++17 -Wall -Wextra -Werror -pedantic -fsyntax-only
          -x c++ ${PROJECT_SOURCE_DIR}/include/apollo.h)

# Only apollo_* symbols leave the shared library, and no apollo__ internals.
add_test(NAME abi.exports
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/abi/check_exports.sh $<TARGET_FILE:apollo>
          ${PROJECT_SOURCE_DIR}/include/apollo.h ${PROJECT_SOURCE_DIR}/abi/symbols.txt)

# The layout asserts of tests/api/test_abi_layout.c catch a retyped field.
add_test(NAME abi.catches_layout_break
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/abi/check_layout_break.sh ${CMAKE_C_COMPILER}
          ${PROJECT_SOURCE_DIR}/include/apollo.h ${CMAKE_CURRENT_SOURCE_DIR}/api/test_abi_layout.c
          ${CMAKE_CURRENT_BINARY_DIR}/layout-break)

# ABI baseline (abigail-tools).  Only for the regular build: the baseline
# records the optimised, oneDNN-enabled library.
find_program(ABIDIFF abidiff)
if(ABIDIFF AND NOT APOLLO_SANITIZE AND APOLLO_HAVE_ONEDNN)
  add_test(NAME abi.abidiff
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/abi/check_abidiff.sh ${PROJECT_SOURCE_DIR}/abi/libapollo.abi
            $<TARGET_FILE:apollo> ${PROJECT_SOURCE_DIR}/include)
  # A deliberately broken copy of the library (same objects, one public
  # symbol hidden by its version script) must be rejected by the same gate.
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/broken.map
       "APOLLO_0 { global: apollo_*; local: apollo_version_string; *; };\n")
  add_library(apollo_abi_broken SHARED EXCLUDE_FROM_ALL $<TARGET_OBJECTS:apollo_obj>)
  target_link_libraries(apollo_abi_broken PRIVATE ${APOLLO_DEPS})
  set_target_properties(apollo_abi_broken PROPERTIES OUTPUT_NAME apollo SOVERSION 0
                        LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/abi-broken)
  target_link_options(apollo_abi_broken PRIVATE -Wl,--version-script=${CMAKE_CURRENT_BINARY_DIR}/broken.map)
  add_custom_target(apollo_abi_broken_build ALL DEPENDS apollo_abi_broken)
  add_test(NAME abi.catches_removed_symbol
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/abi/check_abidiff.sh ${PROJECT_SOURCE_DIR}/abi/libapollo.abi
            $<TARGET_FILE:apollo_abi_broken> ${PROJECT_SOURCE_DIR}/include --expect-incompatible)
endif()

# The examples run against the tiny model.
add_test(NAME example.cli_info
  COMMAND apollo-cli info ${APOLLO_FIXTURES}/models/tiny-tied)
set_tests_properties(example.cli_info PROPERTIES
  PASS_REGULAR_EXPRESSION "vision towers: +2")
add_test(NAME example.cli_bad_dir
  COMMAND apollo-cli info ${CMAKE_CURRENT_BINARY_DIR}/no-such-model)
set_tests_properties(example.cli_bad_dir PROPERTIES WILL_FAIL TRUE)

# Parameter counts reported by the library equal a count made independently
# from the safetensors headers (Python standard library only).
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  foreach(variant tiny-tied tiny-sharded)
    add_test(NAME model.param_counts.${variant}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/api/param_counts.py
              $<TARGET_FILE:apollo-cli> ${APOLLO_FIXTURES}/models/${variant})
  endforeach()
endif()

# Install into a scratch prefix, then build and run consumers through
# pkg-config and through the CMake package.
# (Not in sanitizer builds: the plain consumer cannot load an ASan library.)
if(NOT APOLLO_SANITIZE)
add_test(NAME install.consumer
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/install/test_install.sh
          ${PROJECT_BINARY_DIR} ${CMAKE_CURRENT_BINARY_DIR}/install-test
          ${APOLLO_FIXTURES}/models/tiny-sharded ${CMAKE_C_COMPILER})
# The install test re-runs the build's install step; keep it away from
# parallel tests that use the same build tree.
set_tests_properties(install.consumer PROPERTIES RUN_SERIAL TRUE)
endif()

# Fixtures are exactly what tools/reference generated (manifest of hashes).
if(EXISTS ${APOLLO_FIXTURES}/MANIFEST.sha256)
  add_test(NAME fixtures.manifest
    COMMAND sha256sum --check --quiet --strict MANIFEST.sha256
    WORKING_DIRECTORY ${APOLLO_FIXTURES})
endif()

# apollo-cli tokenize and chat, end to end through the shell.  The ids of
# "Hello world" are Hugging Face tokenizers' (also in the corpus).
add_test(NAME example.cli_tokenize
  COMMAND sh -c "printf 'Hello world' | $<TARGET_FILE:apollo-cli> tokenize -m ${APOLLO_FIXTURES}/models/tiny-tied")
set_tests_properties(example.cli_tokenize PROPERTIES PASS_REGULAR_EXPRESSION "^9707 1879\n$")
add_test(NAME example.cli_tokenize_jsonl
  COMMAND sh -c "printf '%s\\n' '\"Hello world\"' '\"a\\nb\"' | $<TARGET_FILE:apollo-cli> tokenize -m ${APOLLO_FIXTURES}/models/tiny-tied --jsonl")
set_tests_properties(example.cli_tokenize_jsonl PROPERTIES PASS_REGULAR_EXPRESSION "^\\[9707, 1879\\]\n\\[64, 198, 65\\]\n$")
add_test(NAME example.cli_chat_oneshot
  COMMAND apollo-cli -m ${APOLLO_FIXTURES}/models/tiny-tied --temperature 0 --max-tokens 8 "Hello?")
add_test(NAME example.cli_chat_interactive
  COMMAND sh -c "printf 'one\\n/reset\\ntwo\\n/quit\\n' | $<TARGET_FILE:apollo-cli> -m ${APOLLO_FIXTURES}/models/tiny-tied --max-tokens 4 --seed 1")

# apollo-cli answering about the bundled sample video (the README's main job),
# then again from the saved visual tokens: the same greedy answer.
add_test(NAME example.cli_video
  COMMAND sh -c "cli=$<TARGET_FILE:apollo-cli>; m=${APOLLO_FIXTURES}/models/tiny-tied; e=${CMAKE_CURRENT_BINARY_DIR}/cli-video.apemb; rm -f $e; a=$($cli -m $m -v ${APOLLO_FIXTURES}/videos/cfr_161x97_2997.mp4 --temperature 0 --max-tokens 16 --save-embeddings $e 'What happens in this video?') && b=$($cli -m $m -v $e --temperature 0 --max-tokens 16 'What happens in this video?') && test -n \"$a\" && test \"$a\" = \"$b\" && echo \"$a\"")

# The example at the top of apollo.h is real code.
if(NOT APOLLO_SANITIZE)
  add_test(NAME example.header_example
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/api/header_example.sh ${CMAKE_C_COMPILER}
            ${PROJECT_SOURCE_DIR}/include $<TARGET_FILE_DIR:apollo>
            ${APOLLO_FIXTURES}/models/tiny-tied ${APOLLO_FIXTURES}/videos/cfr_161x97_2997.mp4
            ${CMAKE_CURRENT_BINARY_DIR}/header-example)
endif()

# apollo-cli probe shows what the model sees: the reference loader's clips,
# and PNG frames identical to decord's.
if(Python3_FOUND)
  add_test(NAME example.cli_probe
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/api/probe_check.py
            $<TARGET_FILE:apollo-cli> ${APOLLO_FIXTURES}/models/tiny-tied ${APOLLO_FIXTURES})
endif()

# The minimal C example (examples/c/ask.c) asks the tiny model.
add_test(NAME example.c_ask
  COMMAND apollo-example-c ${APOLLO_FIXTURES}/models/tiny-tied "Hello!")

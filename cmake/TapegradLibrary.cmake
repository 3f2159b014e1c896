# One library folder of tapegrad: every src/*.cpp of the folder, public headers under
# include/tapegrad/<part>/, built as tapegrad_<part>, installed and exported as tapegrad::<part>.
#
#   tapegrad_library(nn DEPENDS tapegrad::autodiff PRIVATE_DEPENDS tapegrad::formats)
#
# The folders are added in the order of the data path (the top CMakeLists.txt), and a library
# may depend only on tapegrad libraries added before it: naming one that comes later (one
# "above" it) stops configuration. tests/check_layers.cmake checks the #includes the same way.
define_property(GLOBAL PROPERTY TAPEGRAD_LAYERS BRIEF_DOCS "tapegrad's libraries, lowest first"
                FULL_DOCS "tapegrad's library parts in the order of the data path")

function(tapegrad_library part)
  cmake_parse_arguments(ARG "" "" "DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  get_property(layers GLOBAL PROPERTY TAPEGRAD_LAYERS)
  foreach(dep IN LISTS ARG_DEPENDS ARG_PRIVATE_DEPENDS)
    if(dep MATCHES "^tapegrad::(.+)$")
      if(NOT CMAKE_MATCH_1 IN_LIST layers)
        message(FATAL_ERROR "tapegrad::${part} may not depend on ${dep}: it is not below "
                            "${part} in the data path (${layers} come before it)")
      endif()
    endif()
  endforeach()
  set_property(GLOBAL APPEND PROPERTY TAPEGRAD_LAYERS ${part})

  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  add_library(tapegrad_${part} ${sources})
  add_library(tapegrad::${part} ALIAS tapegrad_${part})
  set_target_properties(tapegrad_${part} PROPERTIES EXPORT_NAME ${part}
                                                    OUTPUT_NAME tapegrad_${part})
  target_include_directories(tapegrad_${part}
    PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE src)
  target_link_libraries(tapegrad_${part} PUBLIC ${ARG_DEPENDS}
                                         PRIVATE ${ARG_PRIVATE_DEPENDS} tapegrad_warnings)
  # A shared library's name carries the version; 0.x releases may change the ABI each minor.
  # Installed, it finds the tapegrad libraries it uses beside itself.
  set_target_properties(tapegrad_${part} PROPERTIES VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR} INSTALL_RPATH "$ORIGIN")
  install(TARGETS tapegrad_${part} EXPORT tapegradTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()

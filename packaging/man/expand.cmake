# cmake -DIN=page.8.in -DOUT=page.8 -DVERSION=x.y.z -P expand.cmake
# Pulls each `.so FILE` line's FILE (beside IN) into the page, as soelim does,
# so every installed page stands alone; fills in @VERSION@.
cmake_minimum_required(VERSION 3.20)
get_filename_component(dir ${IN} DIRECTORY)
file(READ ${IN} text)
string(REGEX MATCHALL "\n\\.so [^\n]+" sos "${text}")
foreach(so ${sos})
  string(REGEX REPLACE "\n\\.so " "" inc "${so}")
  file(READ ${dir}/${inc} body)
  string(REPLACE "${so}\n" "\n${body}" text "${text}")
endforeach()
string(REPLACE "@VERSION@" "${VERSION}" text "${text}")
file(WRITE ${OUT} "${text}")

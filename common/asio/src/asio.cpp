// The compiled part of Asio (with its TLS streams) and Beast, built once for the whole
// program. Every target that includes Asio or Beast links libreta_asio, whose compile
// definitions (common/CMakeLists.txt) tell those headers to declare these functions instead
// of defining them inline in each translation unit.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>

// A message as it goes on the wire: its JSON in a text frame or, to a client of protocol
// version 2 and when it gains, that JSON compressed in a binary frame (compression.hpp).
//
// A frame may be shared by many connections: it is never modified once made, and any thread
// may read it.
#pragma once

#include <memory>
#include <string>

#include "libreta/protocol/messages.hpp"

namespace libreta::server {

struct Frame {
  std::string bytes;
  bool compressed = false;
};
using SharedFrame = std::shared_ptr<const Frame>;

// The frame of one message, compressed when `compress` and it gains.
SharedFrame make_frame(const Message& message, bool compress);

}  // namespace libreta::server

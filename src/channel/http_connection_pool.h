// Many HTTP POSTs at once over kept-alive connections, for the senders whose providers take one
// request per message (webhook, http_push). HttpPost (http_client.h) opens a connection per
// call; at thousands of touches per second the connect/close of every request, and waiting for
// each answer before sending the next, bound delivery far below what a receiver can take.
//
// PostAll sends a batch on up to `max_connections` connections at once, each carrying one
// request at a time (no pipelining) and kept open between batches when the server allows it.
// A request written on a reused connection that the server had already closed (the usual
// keep-alive race) is sent once more on a fresh connection; every message carries its
// Idempotency-Key, so a receiver that did see the first copy can tell.
//
// Thread-safety: not thread-safe; one pool per sender, and senders are per worker thread.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "channel/http_client.h"
#include "common/status.h"

namespace sextant::channel {

struct HttpPostRequest {
  std::string url;  // http://host[:port]/path (as HttpPost)
  HttpHeaders headers;
  std::string body;
};

class HttpConnectionPool {
 public:
  // `max_connections` ≥ 1: connections open at once (and kept idle between batches).
  explicit HttpConnectionPool(size_t max_connections);
  ~HttpConnectionPool();
  HttpConnectionPool(const HttpConnectionPool&) = delete;
  HttpConnectionPool& operator=(const HttpConnectionPool&) = delete;

  // POSTs every request; result i answers requests[i], with HttpPost's contract per request
  // (any status is a response; kInvalidValue for a bad URL or header, kUnavailable for a
  // transport failure). Each request, including a resend after a stale connection, finishes
  // within `timeout_ms` of its start. Never throws.
  std::vector<Result<HttpResponse>> PostAll(std::span<const HttpPostRequest> requests,
                                            int timeout_ms);

  // Connections opened since construction (for tests: reuse means fewer than requests).
  size_t connections_opened() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sextant::channel
